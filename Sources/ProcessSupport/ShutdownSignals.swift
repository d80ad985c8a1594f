#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM, SIGINT and SIGUSR1 are blocked in every thread and taken by one `sigwait` (or the
/// signalfd of a `ShutdownSignalThread`), so that a process decides what a signal means (a graceful
/// drain) instead of a handler running on whatever thread the kernel picks.
///
/// For the responder this also defuses libfcgi: `FCGX_Init` installs handlers that make a plain
/// `kill` do nothing useful (SIGTERM) or make every later accept fail (SIGUSR1). Blocked signals
/// never reach them.
public enum ShutdownSignals {
    public static let shutdownSignals: [Int32] = [SIGTERM, SIGINT, SIGUSR1]

    /// Call first thing in `main`, before anything can start a thread: threads inherit the mask.
    public static func block() {
        var set = shutdownSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    public static var areBlocked: Bool {
        var current = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &current)
        return shutdownSignals.allSatisfy { sigismember(&current, $0) == 1 }
    }

    /// Puts back the default handlers (after a library such as libfcgi installed its own), so that a
    /// thread which somehow has the signals unblocked gets the default action.
    public static func restoreDefaultHandlers() {
        for sig in shutdownSignals { signal(sig, SIG_DFL) }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Blocks until one of the shutdown signals arrives; returns it.
    public static func wait() -> Int32 {
        var set = shutdownSet()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    /// Waits up to `timeout` for one of the shutdown signals; returns it, or `nil` if none came.
    public static func wait(timeout: Duration) -> Int32? {
        var set = shutdownSet()
        let parts = timeout.components
        var limit = timespec(tv_sec: Int(parts.seconds), tv_nsec: Int(parts.attoseconds / 1_000_000_000))
        let received = sigtimedwait(&set, nil, &limit)
        return received > 0 ? received : nil
    }

    /// The shutdown signals as a set (for `ShutdownSignalThread`'s signalfd).
    static func signalSet() -> sigset_t { shutdownSet() }

    private static func shutdownSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in shutdownSignals { sigaddset(&set, sig) }
        return set
    }
}

extension ShutdownSignals {
    /// The signal's name for logs ("Terminated").
    public static func name(of signal: Int32) -> String { String(cString: strsignal(signal)) }
}
