import Logging

extension DatabaseFile {
    /// Calls `open` until it returns, `interval` apart, for a program that must not give up at
    /// start-up: a read-only or full file system, a missing folder or a file nobody has migrated
    /// are the operator's to fix, and the program should work the moment they are fixed, not have
    /// exited into systemd's start limit.
    ///
    /// `pause(interval)` waits between tries and returns `true` to give up (a shutdown signal came);
    /// the result is then `nil`. `failed` hears of every failure. The log gets the first failure
    /// and each different one after it, not a line per try. With `firstFailure` (a try the caller
    /// made itself), that failure is reported and the first try comes after a pause.
    public static func keepOpening<T>(every interval: Duration, logger: Logger, after firstFailure: (any Error)? = nil,
                                      pause: (Duration) -> Bool, failed: (any Error) -> Void = { _ in },
                                      _ open: () throws -> T) -> T? {
        var logged: String?
        func report(_ error: any Error) {
            failed(error)
            guard "\(error)" != logged else { return }
            logged = "\(error)"
            logger.error("the database is not available; trying again", metadata: ["error": "\(error)", "every": "\(interval)"])
        }
        if let firstFailure {
            report(firstFailure)
            if pause(interval) { return nil }
        }
        while true {
            do {
                return try open()
            } catch {
                report(error)
            }
            if pause(interval) { return nil }
        }
    }
}
