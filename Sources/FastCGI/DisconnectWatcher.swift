import CLinux
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Watches the sockets of held requests on one thread with epoll.
///
/// nginx never sends FCGI_ABORT_REQUEST: when a client goes away it closes the connection to the
/// responder. After the request's stdin is complete nothing else arrives on that socket, so any event
/// on a held socket means it was closed (or aborted), and the request is abandoned.
final class DisconnectWatcher: Sendable {
    private let epollFD: Int32
    private let running = Atomic<Bool>(true)

    init() {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll_create1 failed: \(errno)")
    }

    func watch(fd: Int32, token: UInt64) {
        _ = tradedesk_epoll_watch(epollFD, fd, token)
    }

    func unwatch(fd: Int32) {
        _ = tradedesk_epoll_unwatch(epollFD, fd)
    }

    /// Runs until `stop`; `onEvent` gets the token of each socket that saw an event.
    func run(onEvent: (UInt64) -> Void) {
        var tokens = [UInt64](repeating: 0, count: 256)
        while running.load(ordering: .acquiring) {
            let count = tokens.withUnsafeMutableBufferPointer {
                tradedesk_epoll_wait(epollFD, $0.baseAddress, Int32($0.count), 200)
            }
            guard count > 0 else { continue }
            for index in 0..<Int(count) { onEvent(tokens[index]) }
        }
        close(epollFD)
    }

    func stop() {
        running.store(false, ordering: .releasing)
    }
}
