#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM, SIGINT and SIGUSR1 are blocked in every thread and taken by one `sigwait`.
///
/// `FCGX_Init` installs handlers that make a plain `kill` do nothing useful (SIGTERM) or make every
/// later accept fail (SIGUSR1). Blocking the signals before any other thread exists, so that every
/// thread inherits the mask, means those handlers never run and the server decides what a signal
/// means: a graceful drain.
public enum ShutdownSignals {
    static let shutdownSignals: [Int32] = [SIGTERM, SIGINT, SIGUSR1]

    /// Call first thing in `main`, before anything can start a thread.
    public static func block() {
        var set = shutdownSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    static var areBlocked: Bool {
        var current = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &current)
        return shutdownSignals.allSatisfy { sigismember(&current, $0) == 1 }
    }

    /// Undoes what `FCGX_Init` installed, so that a thread which somehow has the signals unblocked
    /// gets the default action rather than libfcgi's.
    static func restoreDefaultHandlers() {
        for sig in shutdownSignals { signal(sig, SIG_DFL) }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Blocks until one of the shutdown signals arrives; returns it.
    static func wait() -> Int32 {
        var set = shutdownSet()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    private static func shutdownSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in shutdownSignals { sigaddset(&set, sig) }
        return set
    }
}
