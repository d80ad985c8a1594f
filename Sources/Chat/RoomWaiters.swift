import HeapModule
import Locking
import ProcessSupport

/// Held long-polls, by room. A post wakes its room's waiters; a waiter whose time is up is answered
/// no messages by one timer thread, which sleeps until the earliest deadline. No thread per waiter, and the
/// timer's work is O(log n) a waiter: it is woken only by a deadline earlier than the one it sleeps
/// until, and takes what is due from a heap.
final class RoomWaiters: Sendable {
    struct Waiter: Sendable {
        let roomID: Int64
        let after: Int64
        let deadline: ContinuousClock.Instant
        let answer: LongPollAnswer
    }

    /// A held long-poll's deadline, earliest first (ties by id). Entries of waiters already answered
    /// stay in the heap until they surface and are then skipped (or until `dropAnsweredDeadlines`
    /// drops them), which is cheaper than finding them.
    struct Deadline: Comparable {
        let deadline: ContinuousClock.Instant
        let roomID: Int64
        let id: UInt64

        static func < (a: Deadline, b: Deadline) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }
    }

    private struct State {
        var rooms: [Int64: [UInt64: Waiter]] = [:]
        var deadlines = Heap<Deadline>()
        /// What the timer sleeps until; nil while it waits for a first waiter.
        var timerDeadline: ContinuousClock.Instant?
        var nextID: UInt64 = 1
        var count = 0
        var stopping = false

        func isLive(_ entry: Deadline) -> Bool { rooms[entry.roomID]?[entry.id] != nil }

        /// Answered waiters leave their entries behind; when they outnumber the live ones, drop them.
        mutating func dropAnsweredDeadlines() {
            guard deadlines.count > 2 * count + 1024 else { return }
            let live = self
            deadlines.removeAll { !live.isLive($0) }
        }
    }

    private let state = Locked(State())
    private let timer = WorkerThread(name: "longpoll-timer")

    func start() {
        timer.start { [self] in answerExpired() }
    }

    var count: Int { state.withLock { $0.count } }

    /// Registers a held long-poll; returns its id, for `remove`.
    func add(roomID: Int64, after: Int64, wait: Duration, answer: @escaping LongPollAnswer) -> UInt64 {
        let deadline = ContinuousClock.now + wait
        let (id, wakeTimer) = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.rooms[roomID, default: [:]][id] = Waiter(roomID: roomID, after: after, deadline: deadline, answer: answer)
            state.count += 1
            state.deadlines.insert(.init(deadline: deadline, roomID: roomID, id: id))
            state.dropAnsweredDeadlines()
            let earlier = state.timerDeadline.map { deadline < $0 } ?? true
            if earlier { state.timerDeadline = deadline }
            return (id, earlier)
        }
        if wakeTimer { timer.wake() }
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
        timer.stopAndJoin()
    }

    /// The timer's pass: answers the waiters whose time is up, and sleeps until the next deadline.
    private func answerExpired() -> WorkerThread.Next {
        let (expired, next, stopping) = state.withLock { state -> ([Waiter], ContinuousClock.Instant?, Bool) in
            let now = ContinuousClock.now
            var expired: [Waiter] = []
            while let entry = state.deadlines.min, entry.deadline <= now || !state.isLive(entry) {
                state.deadlines.removeMin()
                guard let waiter = state.rooms[entry.roomID]?.removeValue(forKey: entry.id) else { continue }
                expired.append(waiter)
                if state.rooms[entry.roomID]?.isEmpty == true { state.rooms[entry.roomID] = nil }
            }
            state.count -= expired.count
            state.timerDeadline = state.deadlines.min?.deadline
            return (expired, state.timerDeadline, state.stopping)
        }
        for waiter in expired { waiter.answer(.success(Self.empty)) }
        if stopping { return .finished }
        return next.map { .at($0) } ?? .whenWoken
    }

    private static let empty = MessageBatch(messages: [])
}
