import Dispatch
import DequeModule
import Locking
#if canImport(Glibc)
import Glibc
#endif


/// A few threads of our own that run queued blocking work (socket writes, password hashing), so that
/// it never runs on Swift's cooperative pool. Jobs run in the order they were submitted.
public final class ThreadPool: Sendable {
    private let queue = Locked<Queue>(Queue())
    private let available = DispatchSemaphore(value: 0)
    private let threads = Locked<[pthread_t]>([])
    private let maxQueued: Int

    private struct Queue {
        var jobs: Deque<(@Sendable () -> Void)?> = []
        var finished = false
        var waiting: Int { jobs.count }
    }

    /// `maxQueued` bounds the jobs waiting for a thread; `submit` refuses past it.
    public init(name: String, threads threadCount: Int, maxQueued: Int = .max) {
        self.maxQueued = maxQueued
        let started = (0..<max(1, threadCount)).map { index in
            OwnThread.start(name: "\(name)-\(index)") { [self] in work() }
        }
        threads.withLock { $0 = started }
    }

    /// Queues `job`; `false` if `maxQueued` jobs are already waiting. After `finish` the job runs at
    /// once on the caller's thread, so that nothing submitted is dropped.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        enum Outcome { case queued, full, runHere }
        let outcome = queue.withLock { queue -> Outcome in
            if queue.finished { return .runHere }
            if queue.waiting >= maxQueued { return .full }
            queue.jobs.append(job)
            return .queued
        }
        switch outcome {
        case .queued: available.signal()
        case .runHere: job()
        case .full: return false
        }
        return true
    }

    /// Lets every queued job run, then ends the threads.
    public func finish() {
        let running = threads.withLock { $0 }
        queue.withLock { queue in
            queue.finished = true
            for _ in running { queue.jobs.append(nil) }
        }
        for _ in running { available.signal() }
        for thread in running { OwnThread.join(thread) }
    }

    private func work() {
        while true {
            available.wait()
            let job = queue.withLock { queue -> (@Sendable () -> Void)? in
                queue.jobs.removeFirst()
            }
            guard let job else { return }
            job()
        }
    }
}
