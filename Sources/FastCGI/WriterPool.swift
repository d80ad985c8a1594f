import Dispatch
import Locking

/// A few threads that write answers given from async code, so that a blocking socket write never
/// runs on Swift's cooperative pool.
final class WriterPool: Sendable {
    private let queue = Locked<(jobs: [(@Sendable () -> Void)?], head: Int, finished: Bool)>(([], 0, false))
    private let available = DispatchSemaphore(value: 0)
    private let threads = Locked<[pthread_t]>([])

    init(threadCount: Int) {
        let started = (0..<max(1, threadCount)).map { index in
            OwnThread.start(name: "fcgi-writer-\(index)") { [self] in work() }
        }
        threads.withLock { $0 = started }
    }

    /// Queues `job`; after `finish` it runs at once on the caller's thread, so no answer is dropped.
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        let queued = queue.withLock { queue in
            if !queue.finished { queue.jobs.append(job) }
            return !queue.finished
        }
        if queued { available.signal() } else { job() }
    }

    /// Lets every queued job run, then ends the threads.
    func finish() {
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
                let job = queue.jobs[queue.head]
                queue.head += 1
                if queue.head > 1024, queue.head * 2 > queue.jobs.count {
                    queue.jobs.removeFirst(queue.head)
                    queue.head = 0
                }
                return job
            }
            guard let job else { return }
            job()
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
