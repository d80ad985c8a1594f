import Dispatch
import HTTP
import Locking
import ProcessSupport

/// Held long-polls, by room. A post wakes its room's waiters; a waiter whose time is up is answered
/// `[]` by one timer thread, which sleeps until the earliest deadline. No thread per waiter.
final class RoomWaiters: Sendable {
    struct Waiter: Sendable {
        let roomID: Int64
        let after: Int64
        let deadline: ContinuousClock.Instant
        let pending: PendingResponse
    }

    private struct State {
        var rooms: [Int64: [UInt64: Waiter]] = [:]
        var nextID: UInt64 = 1
        var count = 0
        var stopping = false
    }

    private let state = Locked(State())
    private let wake = DispatchSemaphore(value: 0)
    private let timer: ThreadPool

    init() {
        timer = ThreadPool(name: "longpoll-timer", threads: 1)
        timer.submit { [self] in runTimer() }
    }

    var count: Int { state.withLock { $0.count } }

    /// Registers a held long-poll; returns its id, for `remove`.
    func add(roomID: Int64, after: Int64, wait: Duration, pending: PendingResponse) -> UInt64 {
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.rooms[roomID, default: [:]][id] = Waiter(roomID: roomID, after: after, deadline: .now + wait, pending: pending)
            state.count += 1
            return id
        }
        wake.signal()
        return id
    }

    /// The client left: forget its waiter.
    func remove(_ id: UInt64, roomID: Int64) {
        state.withLock { state in
            if state.rooms[roomID]?.removeValue(forKey: id) != nil { state.count -= 1 }
        }
    }

    /// Takes every waiter of the room, to be answered with what is new.
    func takeAll(roomID: Int64) -> [Waiter] {
        state.withLock { state in
            let waiters = state.rooms.removeValue(forKey: roomID).map { Array($0.values) } ?? []
            state.count -= waiters.count
            return waiters
        }
    }

    func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
        timer.finish()
    }

    private func runTimer() {
        let empty = HTTPResponse.json([String]())
        while true {
            let (expired, next, stopping) = state.withLock { state -> ([Waiter], ContinuousClock.Instant?, Bool) in
                let now = ContinuousClock.now
                var expired: [Waiter] = []
                var next: ContinuousClock.Instant?
                for (room, waiters) in state.rooms {
                    for (id, waiter) in waiters {
                        if waiter.deadline <= now {
                            expired.append(waiter)
                            state.rooms[room]?[id] = nil
                        } else if next == nil || waiter.deadline < next! {
                            next = waiter.deadline
                        }
                    }
                    if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
                }
                state.count -= expired.count
                return (expired, next, state.stopping)
            }
            for waiter in expired { waiter.pending.respond(empty) }
            if stopping { return }
            if let next {
                let delay = max(.milliseconds(1), next - .now)
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(delay / .nanoseconds(1))))
            } else {
                wake.wait()
            }
        }
    }
}
