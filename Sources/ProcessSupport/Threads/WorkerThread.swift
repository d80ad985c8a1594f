import Locking
#if canImport(Glibc)
import Glibc
#endif

/// One thread of the program's own that runs a loop body: again when it is woken, or when the
/// deadline the body returned passes, until the body says it is finished or the owner stops it.
///
/// This is the one shape of a single thread in the program (a journal writer, a timer, a poller).
/// Constructing it starts nothing; its owner starts it, wakes it when there is new work, and at
/// shutdown stops and joins it, so that no thread outlives the object that needs it.
///
/// ```swift
/// let timer = WorkerThread(name: "order-timer")
/// timer.start { [self] in expireDue() }   // returns .whenWoken, .at(deadline) or .finished
/// timer.wake()                             // a new, earlier deadline
/// timer.stop(); timer.join()               // at shutdown
/// ```
///
/// A wake is never lost: one that comes while the body runs makes it run again at once. Deadlines are
/// `ContinuousClock` instants, waited for on `CLOCK_MONOTONIC` (see `LockedCondition`).
///
/// Why a thread and not a Dispatch queue with a `DispatchSourceTimer`: these loops do blocking work
/// (SQLite writes, answering sockets) that must not run on a pool whose width Dispatch decides, a
/// plain thread shows up named in `top -H` and `gdb`, and `join` says exactly when it has ended,
/// which a shutdown that counts threads needs.
public final class WorkerThread: Sendable {
    /// When the body wants to run next.
    public enum Next: Sendable, Equatable {
        /// When woken.
        case whenWoken
        /// When woken, or at this instant, whichever comes first.
        case at(ContinuousClock.Instant)
        /// Never: the thread ends.
        case finished

        /// When woken, or after `delay`.
        public static func after(_ delay: Duration) -> Next { .at(.now + delay) }
    }

    private struct State {
        var woken = false
        var stopping = false
        var thread: pthread_t?
        var started = false
    }

    public let name: String
    private let state = LockedCondition(State())

    /// A thread named `name` (at most 15 bytes show in `top -H`); nothing runs until `start`.
    public init(name: String) {
        self.name = name
    }

    /// Starts the thread, which calls `body` at once and then as `body`'s result says. Once only.
    public func start(_ body: @escaping @Sendable () -> Next) {
        let first = state.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        precondition(first, "WorkerThread \(name) started twice")
        let thread = OwnThread.start(name: name) { [self] in loop(body) }
        state.withLock { $0.thread = thread }
    }

    /// Makes the body run again soon: at once if the thread is waiting, or right after the current call.
    public func wake() {
        state.withLock { $0.woken = true }
        state.signal()
    }

    /// Asks the thread to end: the call of the body in progress finishes, and the body is not
    /// called again. Does not wait; `join` does.
    public func stop() {
        state.withLock { $0.stopping = true }
        state.signal()
    }

    /// Waits until the thread has ended (after `stop`, or once the body returned `.finished`).
    /// Returns at once if it was never started or is joined already; never call it from the thread itself.
    public func join() {
        guard let thread = state.withLock({ state in defer { state.thread = nil }; return state.thread }) else { return }
        precondition(pthread_equal(thread, pthread_self()) == 0, "WorkerThread \(name) joined from itself")
        OwnThread.join(thread)
    }

    /// `stop`, then `join`.
    public func stopAndJoin() {
        stop()
        join()
    }

    private func loop(_ body: @Sendable () -> Next) {
        while !state.withLock({ $0.stopping }) {
            let deadline: ContinuousClock.Instant?
            switch body() {
            case .finished: return
            case .whenWoken: deadline = nil
            case .at(let instant): deadline = instant
            }
            let stopping = state.wait(until: deadline, while: { !$0.woken && !$0.stopping }) { state in
                state.woken = false
                return state.stopping
            }.result
            if stopping { return }
        }
    }
}
