/// A wake-up for a process that waits for another one's commits: the responder for the bot's
/// replies, the bot for new jobs.
///
/// A watch says only that something *may* have changed; the tables stay the truth, and the waiter
/// reads them after every wake-up (and now and then without one, for what comes due by time). So a
/// watch may wake too often, never too seldom: after a failed look it answers `true`, and the
/// waiter meets the failure itself when it reads. SQLite answers from `PRAGMA data_version`
/// (`DatabaseChangeWatcher`); a server database can answer from the notifications that arrived
/// since the previous call (PostgreSQL's LISTEN/NOTIFY, which carry no data), and wake the waiter
/// as each arrives (`JobQueue.changes(of:wake:)`).
public protocol ChangeWatch: AnyObject, Sendable {
    /// `true` the first time, after any commit since the previous call, and after a failed look.
    /// Waiters call it every poll interval, from one thread: it must cost microseconds.
    func changed() -> Bool

    /// Whether the watch wakes its waiter by itself when a change arrives (it listens for
    /// notifications and is connected), so that the waiter may look seldom; `false` when the waiter
    /// must poll every interval (SQLite, or a listener that lost its connection).
    var wakesByItself: Bool { get }

    /// Ends whatever the watch runs (a listening thread) and waits for it. Call it once, when the
    /// waiter stops.
    func stop()
}

extension ChangeWatch {
    public var wakesByItself: Bool { false }
    public func stop() {}
}
