import Foundation
import Storage

/// The job table as its two users need it: the responder queues commands and delivers replies, the
/// bots claim, answer, retry and give up. Several bots and the responder use it at once, so each
/// call is one transaction, whole or not at all, and an owner's call on a job it no longer holds
/// (its lease expired and another bot claimed it) changes nothing and answers `false`.
///
/// `SQLiteJobQueue` keeps it in the shared SQLite file; `PostgresJobQueue` claims with `FOR UPDATE
/// SKIP LOCKED` and wakes its waiters by notification (`changes(of:wake:)`). Either way a job is
/// held by at most one owner at a time and every job is claimed in the end.
public protocol JobQueue: Sendable {
    // MARK: The responder's side

    /// Queues a command for the bots.
    func enqueue(roomID: Int64, userID: Int64?, username: String, command: String, now: Date) throws -> Job

    /// Jobs with a reply that has not been delivered yet, oldest first.
    func undeliveredReplies(limit: Int) throws -> [Job]

    /// Marks the reply delivered; `false` if it already was, so that the caller posts it exactly once.
    /// (`ChatStore.deliver` does this and the posting in one transaction.)
    @discardableResult
    func markDelivered(jobID: Int64, now: Date) throws -> Bool

    // MARK: The bots' side

    /// Claims up to `limit` jobs, oldest first, that are queued (and due) or whose lease expired,
    /// for `owner` until `now + lease`, counting an attempt each. One transaction: jobs claimed
    /// together are never claimed by another owner meanwhile.
    func claim(owner: String, lease: TimeInterval, limit: Int, now: Date) throws -> [Job]

    /// Extends the lease of each of `jobIDs` that `owner` still holds to `now + lease`, in one
    /// transaction; returns the ids renewed. A job missing from the answer was lost (its lease
    /// expired and another bot claimed it, or it was finished): its owner's answer will be refused.
    func renew(jobIDs: [Int64], owner: String, lease: TimeInterval, now: Date) throws -> Set<Int64>

    /// Records what `owner` decided for several jobs it holds, in one transaction (one sync to the
    /// disk for all of them), and returns the ids recorded. Each is conditional on its own lease:
    /// a job whose lease was lost (it expired and another owner claimed the job, or the job was
    /// finished) is left as it is and missing from the answer, whatever happens to the others.
    func answer(_ outcomes: [JobOutcome], owner: String, now: Date) throws -> Set<Int64>

    /// `answer(_:owner:now:)`, then `claim(owner:lease:limit:now:)`, in one transaction: a bot that
    /// has finished some jobs takes the next ones with one sync to the disk for both.
    func answer(_ outcomes: [JobOutcome], owner: String, now: Date,
                thenClaim limit: Int, lease: TimeInterval) throws -> (recorded: Set<Int64>, claimed: [Job])

    /// Gives a claimed job back untouched (at shutdown): it is not counted as an attempt.
    @discardableResult
    func release(jobID: Int64, owner: String) throws -> Bool

    // MARK: Both

    func job(id: Int64) throws -> Job?

    /// Whether the job table exists: `false` until someone runs `tradedesk migrate`.
    func isInstalled() throws -> Bool

    /// A new wake-up for one waiter (its own connection, its own idea of "since the last call"),
    /// for the commits of `kind`. A backend that hears of commits by itself (PostgreSQL's
    /// LISTEN/NOTIFY, one channel per kind) also calls `wake` as soon as one arrives, so that the
    /// waiter need not wait out its poll interval; SQLite, which must be asked, never calls it and
    /// reports every commit whatever its kind. The waiter calls the watch's `stop()` when it stops.
    func changes(of kind: JobQueueChange, wake: @escaping @Sendable () -> Void) throws -> any ChangeWatch
}

/// What a waiter on the job table wants to hear of (`JobQueue.changes(of:wake:)`). A watch may
/// still wake for other commits (SQLite's sees them all): the table stays the truth.
public enum JobQueueChange: Sendable, Equatable {
    /// Jobs queued, or given back: what a bot waits for.
    case newJobs
    /// Replies recorded (answers and apologies): what the responder's delivery waits for.
    case replies
}

extension JobQueue {
    public func enqueue(roomID: Int64, userID: Int64?, username: String, command: String) throws -> Job {
        try enqueue(roomID: roomID, userID: userID, username: username, command: command, now: Date())
    }

    public func undeliveredReplies() throws -> [Job] { try undeliveredReplies(limit: 100) }

    public func markDelivered(jobID: Int64) throws -> Bool { try markDelivered(jobID: jobID, now: Date()) }

    /// Claims the oldest claimable job, if any.
    public func claim(owner: String, lease: TimeInterval, now: Date = Date()) throws -> Job? {
        try claim(owner: owner, lease: lease, limit: 1, now: now).first
    }

    public func renew(jobIDs: [Int64], owner: String, lease: TimeInterval) throws -> Set<Int64> {
        try renew(jobIDs: jobIDs, owner: owner, lease: lease, now: Date())
    }

    /// Completes a claimed job with its reply; `false` if the lease was lost to another owner.
    @discardableResult
    public func answer(jobID: Int64, owner: String, reply: String, now: Date = Date()) throws -> Bool {
        try answer([.answered(jobID: jobID, reply: reply)], owner: owner, now: now).contains(jobID)
    }

    /// Puts a claimed job back to be tried again after `retryAt`, recording why this attempt failed.
    @discardableResult
    public func retry(jobID: Int64, owner: String, error: String, retryAt: Date) throws -> Bool {
        try answer([.retry(jobID: jobID, error: error, at: retryAt)], owner: owner, now: Date()).contains(jobID)
    }

    /// Ends a job that failed too often: `dead`, with its last error, and `apology` as the reply.
    @discardableResult
    public func kill(jobID: Int64, owner: String, error: String, apology: String, now: Date = Date()) throws -> Bool {
        try answer([.dead(jobID: jobID, error: error, apology: apology)], owner: owner, now: now).contains(jobID)
    }
}
