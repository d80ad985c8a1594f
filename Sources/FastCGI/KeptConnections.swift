import CLinux
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// The connections nginx keeps open between two requests (`fastcgi_keep_conn on` with an upstream
/// `keepalive` pool), while no request is on them.
///
/// An idle kept connection costs a descriptor and an epoll registration: no thread and no
/// `FCGX_Request`. It waits in this epoll set, in which the request threads wait
/// (``RequestThreads``). When nginx sends the next request on it, the thread that wakes takes it
/// out of the set and reads that request with a fresh `FCGX_Request` on the same descriptor. When
/// nginx closes it (its pool was full, or its `keepalive_timeout` passed), that thread closes it too.
///
/// Each descriptor has one owner at a time: the request on it, or this set. Only the responder's
/// answer puts it here (``park(_:wasIdle:)``) and only the thread that saw its event takes it out
/// (``take(_:)``), so a descriptor is never read by two threads, nor closed while another uses it.
///
/// nginx sends one request at a time on a connection and never closes one from its side while a
/// request is on it, but may send a request on an idle one at any moment. So the responder never
/// closes an idle kept connection while it serves. When it stops, it hands them to the next
/// responder (``takeAll()`` and ``KeptConnectionHandover``), or closes them when there is none
/// (``closeAll()``).
final class KeptConnections: Sendable {
    /// The epoll set the idle connections wait in, each watched for one event.
    let epollFD: Int32
    private let idle = Locked(Idle())
    private let statistics: FastCGIStatistics

    private struct Idle {
        var descriptors: Set<Int32> = []
        var closed = false
    }

    init(statistics: FastCGIStatistics) {
        self.statistics = statistics
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll_create1 failed: \(errno)")
    }

    deinit {
        if !idle.withLock({ $0.closed }) { close(epollFD) }
    }

    /// Keeps `fd` open for nginx's next request on it; once the server is stopping, closes it instead.
    /// `wasIdle`: it waited here before its last request, so it is still registered.
    func park(_ fd: Int32, wasIdle: Bool) {
        let parked = idle.withLock { idle -> Bool in
            guard !idle.closed else { return false }
            idle.descriptors.insert(fd)
            _ = tradedesk_epoll_watch_once(epollFD, fd, UInt64(fd), wasIdle ? 1 : 0)
            statistics.idleKeptCount.store(idle.descriptors.count, ordering: .relaxed)
            return true
        }
        if !parked { close(fd) }
    }

    /// Takes `fd`, whose event (a request, or nginx closing it) a thread saw, out of the set: `true`
    /// if it was idle here, and the caller now owns it. Its one event has fired, so it stays
    /// registered, disarmed, until ``park(_:wasIdle:)`` re-arms it or closing it removes it.
    func take(_ fd: Int32) -> Bool {
        idle.withLock { idle in
            guard idle.descriptors.remove(fd) != nil else { return false }
            statistics.idleKeptCount.store(idle.descriptors.count, ordering: .relaxed)
            return true
        }
    }

    /// Closes every idle kept connection; see ``takeAll()``. Returns how many were idle.
    @discardableResult
    func closeAll() -> Int {
        let descriptors = takeAll()
        for fd in descriptors { close(fd) }
        return descriptors.count
    }

    /// Takes every idle kept connection out and closes the epoll set; from now on ``park(_:wasIdle:)``
    /// closes what it is given. Call it once nothing waits on ``epollFD`` any more.
    func takeAll() -> [Int32] {
        let descriptors = idle.withLock { idle -> Set<Int32> in
            guard !idle.closed else { return [] }
            idle.closed = true
            statistics.idleKeptCount.store(0, ordering: .relaxed)
            close(epollFD)
            defer { idle.descriptors = [] }
            return idle.descriptors
        }
        return Array(descriptors)
    }
}
