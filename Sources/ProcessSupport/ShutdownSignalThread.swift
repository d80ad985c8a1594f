import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// A thread that waits for a shutdown signal and reports it, for a program whose main thread has a
/// loop of its own (the stock bot). Unlike a thread parked in `sigwait`, it can be stopped: it waits
/// with `poll` on a signalfd of the shutdown signals and on an eventfd its owner writes to, so the
/// owner joins it at the end whether a signal came or not.
///
/// The shutdown signals must be blocked in every thread (`ShutdownSignals.block()`), or the kernel
/// delivers them to a handler instead of the signalfd.
public final class ShutdownSignalThread: Sendable {
    private let stopFD: Int32
    private let signalFD: Int32
    private let thread: WorkerThread

    /// Opens the two descriptors; nothing runs until `start`.
    public init() {
        stopFD = tradedesk_eventfd()
        precondition(stopFD >= 0, "eventfd failed: \(errno)")
        var set = ShutdownSignals.signalSet()
        signalFD = tradedesk_signalfd(&set)
        precondition(signalFD >= 0, "signalfd failed: \(errno)")
        thread = WorkerThread(name: "signal-wait")
    }

    deinit {
        close(stopFD)
        close(signalFD)
    }

    /// Calls `onSignal` (on this thread) with the first shutdown signal that arrives, then ends.
    public func start(_ onSignal: @escaping @Sendable (Int32) -> Void) {
        thread.start { [stopFD, signalFD] in
            var fds = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
            while true {
                let ready = poll(&fds, nfds_t(fds.count), -1)
                if ready < 0, errno == EINTR { continue }
                if fds[1].revents != 0 || ready < 0 { return .finished }
                let signal = tradedesk_signalfd_read(signalFD)
                if signal > 0 {
                    onSignal(signal)
                    return .finished
                }
            }
        }
    }

    /// Ends the wait (if no signal came) and joins the thread.
    public func stopAndJoin() {
        var one: UInt64 = 1
        _ = write(stopFD, &one, MemoryLayout<UInt64>.size)
        thread.join()
    }
}
