import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// Threads the program starts itself. Blocking calls (libfcgi's accept, read and write; password
/// hashing; libcurl) run only on these, never on Swift's cooperative pool. Code that may be called
/// from either asks `isCurrent` and hands its blocking part to a `ThreadPool` when it is not.
///
/// These are the primitives; a thread of the program has the shape of a `WorkerThread` (one loop)
/// or a `ThreadPool` (queued jobs), each with an owner that starts and joins it.
public enum OwnThread {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    /// Marks the calling thread as one of the program's own (e.g. the main thread of a server).
    public static func markCurrent() {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
    }

    public static var isCurrent: Bool { pthread_getspecific(key) != nil }

    /// Starts a named, joinable thread that runs `body`.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            OwnThread.markCurrent()
            box.body()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        // Named here rather than by the thread itself, so that it has its name once `start` returns.
        tradedesk_name_thread(thread, String(name.prefix(15)))
        return thread
    }

    public static func join(_ thread: pthread_t) {
        _ = pthread_join(thread, nil)
    }

    /// Runs blocking `work` on a thread of its own and awaits its result, so that async code can
    /// wait for a blocking call without holding one of the cooperative pool's few threads.
    public static func run<Result: Sendable>(name: String, _ work: @escaping @Sendable () -> Result) async -> Result {
        var thread = pthread_t()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
            thread = start(name: name) { continuation.resume(returning: work()) }
        }
        // The thread ends right after it resumed us: this join waits microseconds, not for the work.
        join(thread)
        return result
    }
}
