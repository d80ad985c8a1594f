/// A value that threads share, behind a `pthread_mutex_t`.
///
/// The shape is `Synchronization.Mutex`'s (`withLock`), but the lock is a pthread mutex on purpose:
/// on Linux `Mutex` locks inside the uninstrumented standard library, so ThreadSanitizer cannot see
/// it and reports a race inside every `withLock` (measured here with four threads on one
/// `Mutex<[Int: Int]>`). ThreadSanitizer intercepts pthread mutexes, so with this lock the
/// sanitizer run checks our code instead of reporting its own blind spot.
///
/// ```swift
/// let waiting = Locked<[UInt64: PendingResponse]>([:])
/// waiting.withLock { $0[id] = pending }
/// ```
public final class Locked<Value>: @unchecked Sendable {
    private let mutex = PThreadMutex()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    deinit { mutex.destroy() }

    /// Runs `body` with the value while holding the lock. Keep it short: never block inside.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        try mutex.withLock { () throws(Failure) -> Result in try body(&value) }
    }
}
