import DequeModule
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// A few threads of our own that run queued blocking work (FastCGI requests and socket writes,
/// password hashing, quote fetches), so that it never runs on Swift's cooperative pool. Jobs start
/// in the order they were submitted.
///
/// For a single thread with a loop of its own, use `WorkerThread`. Constructing a pool starts
/// nothing: its owner calls `start`, and at shutdown `shutdown`, which lets the queue empty and
/// joins every thread.
///
/// ```swift
/// let pool = ThreadPool(name: "argon2", threads: 2, maxQueued: 64)
/// pool.start()
/// if !pool.submit({ hash(password) }) { /* 503: too many waiting */ }
/// pool.shutdown()
/// ```
public final class ThreadPool: Sendable {
    private struct Queue {
        var jobs: Deque<@Sendable () -> Void> = []
        var threads: [pthread_t] = []
        var started = false
        var finished = false
    }

    public let name: String
    private let threadCount: Int
    private let maxQueued: Int
    private let queue = LockedCondition(Queue())

    /// `maxQueued` bounds the jobs waiting for a thread; `submit` refuses past it.
    public init(name: String, threads threadCount: Int, maxQueued: Int = .max) {
        self.name = name
        self.threadCount = max(1, threadCount)
        self.maxQueued = maxQueued
    }

    /// Starts the threads. Jobs submitted before wait for them.
    public func start() {
        let first = queue.withLock { queue -> Bool in
            defer { queue.started = true }
            return !queue.started
        }
        precondition(first, "ThreadPool \(name) started twice")
        let started = (0..<threadCount).map { index in
            OwnThread.start(name: "\(name)-\(index)") { [self] in work() }
        }
        queue.withLock { $0.threads = started }
    }

    /// Queues `job`; `false` if `maxQueued` jobs are already waiting. After `shutdown` the job runs
    /// at once on the caller's thread, so that nothing submitted is dropped.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        enum Outcome { case queued, full, runHere }
        let outcome = queue.withLock { queue -> Outcome in
            if queue.finished { return .runHere }
            if queue.jobs.count >= maxQueued { return .full }
            queue.jobs.append(job)
            return .queued
        }
        switch outcome {
        case .queued: queue.signal()
        case .runHere: job()
        case .full: return false
        }
        return true
    }

    /// Lets every queued job run, then ends and joins the threads (of a pool never started, the
    /// queued jobs run on the caller's thread).
    public func shutdown() {
        let (threads, leftover) = queue.withLock { queue -> ([pthread_t], Deque<@Sendable () -> Void>) in
            queue.finished = true
            defer { queue.threads = [] }
            if queue.started { return (queue.threads, []) }
            defer { queue.jobs = [] }
            return ([], queue.jobs)
        }
        queue.broadcast()
        for thread in threads { OwnThread.join(thread) }
        for job in leftover { job() }
    }

    private func work() {
        while true {
            let job = queue.wait(until: nil, while: { $0.jobs.isEmpty && !$0.finished }) { $0.jobs.popFirst() }.result
            guard let job else { return }
            job()
        }
    }
}
