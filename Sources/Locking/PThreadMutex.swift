#if canImport(Glibc)
import Glibc
#endif

/// The pthread mutex under `Locked` and `LockedCondition` (see `Locked` for why not `Mutex`). Its
/// owner calls `destroy()` in its `deinit`.
struct PThreadMutex {
    let pointer: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: pthread_mutex_t())
        pthread_mutex_init(pointer, nil)
    }

    func destroy() {
        pthread_mutex_destroy(pointer)
        pointer.deallocate()
    }

    func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(pointer)
        defer { pthread_mutex_unlock(pointer) }
        return try body()
    }
}
