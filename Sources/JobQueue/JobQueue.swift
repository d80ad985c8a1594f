import Foundation
import GRDB

/// Operations on the job table. Each is one statement or one transaction, so several bots and the
/// responder can use the table at once.
public struct JobQueue: Sendable {
    public let database: DatabasePool

    public init(database: DatabasePool) { self.database = database }

    // MARK: The responder's side

    /// Queues a command inside the caller's transaction.
    public static func enqueue(_ db: Database, roomID: Int64, userID: Int64?, username: String, command: String,
                               now: Date = Date()) throws -> Job {
        var job = Job(id: nil, roomID: roomID, userID: userID, username: username, command: command, status: .queued,
                      attempts: 0, createdAt: now)
        try job.insert(db)
        return job
    }

    /// Jobs with a reply that has not been delivered yet, oldest first.
    public func undeliveredReplies(limit: Int = 100) throws -> [Job] {
        try database.read { db in
            try Job.fetchAll(db, sql: "SELECT * FROM job WHERE reply IS NOT NULL AND delivered_at IS NULL ORDER BY id LIMIT ?",
                             arguments: [limit])
        }
    }

    /// Marks the reply delivered inside the caller's transaction; `false` if it already was, so
    /// that the caller posts it exactly once.
    public static func markDelivered(_ db: Database, jobID: Int64, now: Date = Date()) throws -> Bool {
        try db.execute(sql: """
            UPDATE job SET delivered_at = ?, status = CASE status WHEN 'answered' THEN 'delivered' ELSE status END
            WHERE id = ? AND reply IS NOT NULL AND delivered_at IS NULL
            """, arguments: [now, jobID])
        return db.changesCount == 1
    }

    // MARK: The bot's side

    /// Claims the oldest job that is queued (and due), or whose lease expired, in one statement.
    public func claim(owner: String, lease: TimeInterval, now: Date = Date()) throws -> Job? {
        try database.write { db in
            try Job.fetchOne(db, sql: """
                UPDATE job SET status = 'claimed', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?
                WHERE id = (
                    SELECT id FROM job
                    WHERE (status = 'queued' AND (not_before IS NULL OR not_before <= ?))
                       OR (status = 'claimed' AND lease_expires_at <= ?)
                    ORDER BY id LIMIT 1)
                RETURNING *
                """, arguments: [owner, now.addingTimeInterval(lease), now, now])
        }
    }

    /// Completes a claimed job with its reply; `false` if the lease was lost to another owner.
    @discardableResult
    public func answer(jobID: Int64, owner: String, reply: String, now: Date = Date()) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE job SET status = 'answered', reply = ?, answered_at = ?, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND status = 'claimed' AND lease_owner = ?
                """, arguments: [reply, now, jobID, owner])
            return db.changesCount == 1
        }
    }

    /// Puts a claimed job back to be tried again after `retryAt`, recording why this attempt failed.
    @discardableResult
    public func retry(jobID: Int64, owner: String, error: String, retryAt: Date) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE job SET status = 'queued', last_error = ?, not_before = ?, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND status = 'claimed' AND lease_owner = ?
                """, arguments: [error, retryAt, jobID, owner])
            return db.changesCount == 1
        }
    }

    /// Ends a job that failed too often: `dead`, with its last error, and `apology` as the reply.
    @discardableResult
    public func kill(jobID: Int64, owner: String, error: String, apology: String, now: Date = Date()) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE job SET status = 'dead', last_error = ?, reply = ?, answered_at = ?, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND status = 'claimed' AND lease_owner = ?
                """, arguments: [error, apology, now, jobID, owner])
            return db.changesCount == 1
        }
    }

    /// Extends the lease of each of `jobIDs` that `owner` still holds to `now + lease`, in one
    /// statement; returns the ids renewed. A job missing from the answer was lost (its lease expired
    /// and another bot claimed it, or it was finished): its owner's answer will be refused.
    public func renew(jobIDs: [Int64], owner: String, lease: TimeInterval, now: Date = Date()) throws -> Set<Int64> {
        guard !jobIDs.isEmpty else { return [] }
        return try database.write { db in
            var renewed = Set<Int64>()
            // SQLite's default limit is 32766 variables; a bot holds a few hundred jobs at most.
            for chunk in stride(from: 0, to: jobIDs.count, by: 500).map({ jobIDs[$0..<min($0 + 500, jobIDs.count)] }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                var arguments: StatementArguments = [now.addingTimeInterval(lease), owner]
                arguments += StatementArguments(Array(chunk))
                let ids = try Int64.fetchAll(db, sql: """
                    UPDATE job SET lease_expires_at = ?
                    WHERE status = 'claimed' AND lease_owner = ? AND id IN (\(marks))
                    RETURNING id
                    """, arguments: arguments)
                renewed.formUnion(ids)
            }
            return renewed
        }
    }

    /// Gives a claimed job back untouched (at shutdown): it is not counted as an attempt.
    @discardableResult
    public func release(jobID: Int64, owner: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE job SET status = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND status = 'claimed' AND lease_owner = ?
                """, arguments: [jobID, owner])
            return db.changesCount == 1
        }
    }

    public func job(id: Int64) throws -> Job? {
        try database.read { try Job.fetchOne($0, key: id) }
    }
}
