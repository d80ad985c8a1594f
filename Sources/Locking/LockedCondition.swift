#if canImport(Glibc)
import Glibc
#endif

/// A value that threads share, and a condition they can sleep on until another thread changes it.
///
/// `Locked` with a `pthread_cond_t` beside the mutex (ThreadSanitizer sees both). Timed waits are on
/// `CLOCK_MONOTONIC`, so that setting the wall clock neither wakes a sleeper early nor keeps it asleep;
/// deadlines are `ContinuousClock` instants, like every other deadline in the program.
///
/// ```swift
/// let queue = LockedCondition<[Job]>([])
/// queue.withLock { $0.append(job) }; queue.signal()               // producer
/// let job = queue.wait(until: nil, while: { $0.isEmpty }) { $0.removeFirst() }   // consumer
/// ```
public final class LockedCondition<Value>: @unchecked Sendable {
    private let mutex = PThreadMutex()
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        mutex.destroy()
    }

    /// Runs `body` with the value while holding the lock. Keep it short: never block inside.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        try mutex.withLock { () throws(Failure) -> Result in try body(&value) }
    }

    /// Sleeps while `blocked(value)` holds, until another thread signals a change that ends it or
    /// `deadline` passes (never, with `nil`); then runs `body` under the same lock. Returns whether
    /// the wait ended because `blocked` stopped holding (rather than by the deadline) and `body`'s result.
    public func wait<Result>(until deadline: ContinuousClock.Instant?, while blocked: (Value) -> Bool,
                             then body: (inout Value) -> Result) -> (woken: Bool, result: Result) {
        pthread_mutex_lock(mutex.pointer)
        defer { pthread_mutex_unlock(mutex.pointer) }
        while blocked(value) {
            guard let deadline else {
                pthread_cond_wait(condition, mutex.pointer)
                continue
            }
            let remaining = deadline - .now
            if remaining <= .zero { return (false, body(&value)) }
            var limit = Self.monotonicTime(after: remaining)
            _ = pthread_cond_timedwait(condition, mutex.pointer, &limit)
        }
        return (true, body(&value))
    }

    /// Wakes one sleeper. Call after the change, with or without the lock.
    public func signal() { pthread_cond_signal(condition) }

    /// Wakes every sleeper.
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// `CLOCK_MONOTONIC` now plus `duration` (at most a day: a longer sleep simply waits again).
    private static func monotonicTime(after duration: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let parts = min(duration, .seconds(86_400)).components
        var seconds = now.tv_sec + Int(parts.seconds)
        var nanoseconds = now.tv_nsec + Int(parts.attoseconds / 1_000_000_000)
        if nanoseconds >= 1_000_000_000 {
            seconds += 1
            nanoseconds -= 1_000_000_000
        }
        return timespec(tv_sec: seconds, tv_nsec: nanoseconds)
    }
}
