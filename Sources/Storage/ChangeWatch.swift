/// A wake-up for a process that waits for another one's commits: the responder for the bot's
/// replies, the bot for new jobs.
///
/// A watch says only that something *may* have changed; the tables stay the truth, and the waiter
/// reads them after every wake-up (and now and then without one, for what comes due by time). So a
/// watch may wake too often, never too seldom: after a failed look it answers `true`, and the
/// waiter meets the failure itself when it reads. SQLite answers from `PRAGMA data_version`
/// (`DatabaseChangeWatcher`); a server database can answer from the notifications that arrived
/// since the previous call (PostgreSQL's LISTEN/NOTIFY, which carry no data), and wake the waiter
/// as each arrives (`JobQueue.changes(wake:)`).
public protocol ChangeWatch: AnyObject, Sendable {
    /// `true` the first time, after any commit since the previous call, and after a failed look.
    /// Waiters call it every poll interval, from one thread: it must cost microseconds.
    func changed() -> Bool
}
