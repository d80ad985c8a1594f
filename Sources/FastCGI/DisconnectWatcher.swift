import CLinux
import Locking
import ProcessSupport
#if canImport(Glibc)
import Glibc
#endif

/// Watches the sockets of held requests on one thread with epoll.
///
/// nginx never sends FCGI_ABORT_REQUEST: when a client goes away it closes the connection to the
/// responder. After the request's stdin is complete nothing else arrives on that socket, so any event
/// on a held socket means it was closed (or aborted), and the request is abandoned.
///
/// An eventfd in the same epoll set ends the wait at `stop`, so the thread sleeps until something
/// happens instead of waking to look at a flag.
final class DisconnectWatcher: Sendable {
    private let epollFD: Int32
    private let stopFD: Int32
    private let thread = WorkerThread(name: "fcgi-watcher")
    private let closed = Locked(false)

    private static let stopToken = UInt64.max

    init() {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll_create1 failed: \(errno)")
        stopFD = tradedesk_eventfd()
        precondition(stopFD >= 0, "eventfd failed: \(errno)")
        _ = tradedesk_epoll_watch(epollFD, stopFD, Self.stopToken)
    }

    deinit { closeDescriptors() }

    func watch(fd: Int32, token: UInt64) {
        _ = tradedesk_epoll_watch(epollFD, fd, token)
    }

    func unwatch(fd: Int32) {
        _ = tradedesk_epoll_unwatch(epollFD, fd)
    }

    /// Starts the thread; until `stop`, `onEvent` gets the token of each socket that saw an event.
    func start(onEvent: @escaping @Sendable (UInt64) -> Void) {
        thread.start { [epollFD] in
            var tokens = [UInt64](repeating: 0, count: 256)
            while true {
                let count = tokens.withUnsafeMutableBufferPointer {
                    tradedesk_epoll_wait(epollFD, $0.baseAddress, Int32($0.count), -1)
                }
                guard count > 0 else { continue }
                for token in tokens[0..<Int(count)] {
                    if token == Self.stopToken { return .finished }
                    onEvent(token)
                }
            }
        }
    }

    /// Ends the thread, joins it and closes the epoll set.
    func stop() {
        var one: UInt64 = 1
        _ = write(stopFD, &one, MemoryLayout<UInt64>.size)
        thread.join()
        closeDescriptors()
    }

    private func closeDescriptors() {
        guard closed.withLock({ done in defer { done = true }; return !done }) else { return }
        close(epollFD)
        close(stopFD)
    }
}
