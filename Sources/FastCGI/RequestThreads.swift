import CLinux
import Locking
import ProcessSupport
#if canImport(Glibc)
import Glibc
#endif

/// The threads that read requests and run the application on them.
///
/// Every one waits in the same epoll set, ``KeptConnections``'s, for whichever comes first: a new
/// connection the accept thread queued, or the next request on an idle kept connection. The thread
/// that wakes reads the request itself, so a request on a kept connection costs no hand-off
/// between threads. Idle kept connections are watched for one event each, so that only one thread
/// wakes for each request.
///
/// `stop` lets the threads serve what is queued and then joins them; idle kept connections are not
/// read after that.
final class RequestThreads: Sendable {
    private let kept: KeptConnections
    private let threads: [WorkerThread]
    private let queued = Locked(Queue())
    private let queuedFD: Int32
    private let stopFD: Int32

    private static let queuedToken = UInt64.max - 1
    private static let stopToken = UInt64.max

    init(name: String, count: Int, kept: KeptConnections) {
        self.kept = kept
        threads = (0..<count).map { WorkerThread(name: "\(name)-\($0)") }
        queuedFD = tradedesk_counting_eventfd()
        stopFD = tradedesk_eventfd()
        precondition(queuedFD >= 0 && stopFD >= 0, "eventfd failed: \(errno)")
        _ = tradedesk_epoll_watch(kept.epollFD, queuedFD, Self.queuedToken)
        _ = tradedesk_epoll_watch(kept.epollFD, stopFD, Self.stopToken)
    }

    /// Starts the threads; each connection with a request to read goes to `serve`, with whether
    /// it is a kept one.
    func start(serve: @escaping @Sendable (_ fd: Int32, _ kept: Bool) -> Void) {
        for thread in threads {
            thread.start { [self] in
                run(serve)
                return .finished
            }
        }
    }

    /// Queues a new connection for the next free thread.
    func submit(_ fd: Int32) {
        queued.withLock { $0.push(fd) }
        var one: UInt64 = 1
        _ = write(queuedFD, &one, MemoryLayout<UInt64>.size)
    }

    /// Lets the threads serve every connection queued, then joins them.
    func stop() {
        var one: UInt64 = 1
        _ = write(stopFD, &one, MemoryLayout<UInt64>.size)
        threads.forEach { $0.join() }
        _ = tradedesk_epoll_unwatch(kept.epollFD, queuedFD)
        _ = tradedesk_epoll_unwatch(kept.epollFD, stopFD)
        close(queuedFD)
        close(stopFD)
    }

    private func run(_ serve: (Int32, Bool) -> Void) {
        var token: UInt64 = 0
        while true {
            guard tradedesk_epoll_wait(kept.epollFD, &token, 1, -1) == 1 else { continue }
            switch token {
            case Self.stopToken:
                while let fd = takeQueued() { serve(fd, false) }
                return
            case Self.queuedToken:
                if let fd = takeQueued() { serve(fd, false) }
            default:
                let fd = Int32(truncatingIfNeeded: token)
                guard kept.take(fd) else { continue }
                if hasRequest(fd) { serve(fd, true) }
            }
        }
    }

    /// One queued connection, if another thread has not taken it.
    private func takeQueued() -> Int32? {
        var count: UInt64 = 0
        guard read(queuedFD, &count, MemoryLayout<UInt64>.size) == MemoryLayout<UInt64>.size else { return nil }
        return queued.withLock { $0.pop() }
    }

    /// First in, first out, without moving what is left each time one is taken.
    private struct Queue {
        private var items: [Int32] = []
        private var head = 0

        mutating func push(_ fd: Int32) { items.append(fd) }

        mutating func pop() -> Int32? {
            guard head < items.count else { return nil }
            defer {
                head += 1
                if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
            }
            return items[head]
        }
    }

    /// Whether an idle kept connection that saw an event has a request: otherwise nginx closed it,
    /// and so does this, or the event was spurious, and it waits again.
    private func hasRequest(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let peeked = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if peeked > 0 { return true }
        if peeked < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
            kept.park(fd, wasIdle: true)
        } else {
            close(fd)
        }
        return false
    }
}
