import Foundation
import GRDB
import Storage

/// The job table in the SQLite file the responder and the bots share. SQLite writes one
/// transaction at a time, so a claim is a plain `UPDATE … RETURNING` over the oldest claimable ids:
/// no two owners can take the same row. Waiters learn of commits from `PRAGMA data_version`
/// (`DatabaseChangeWatcher`).
public struct SQLiteJobQueue: JobQueue {
    let database: DatabasePool
    /// The file, for the watchers' connections of their own.
    let path: String

    public init(database: DatabasePool) {
        self.database = database
        self.path = database.path
    }

    // MARK: The responder's side

    public func enqueue(roomID: Int64, userID: Int64?, username: String, command: String, now: Date) throws -> Job {
        try database.write { try Self.enqueue($0, roomID: roomID, userID: userID, username: username, command: command, now: now) }
    }

    /// Queues a command inside the caller's transaction (the chat's, which shares the file).
    public static func enqueue(_ db: Database, roomID: Int64, userID: Int64?, username: String, command: String,
                        now: Date = Date()) throws -> Job {
        var job = Job(id: nil, roomID: roomID, userID: userID, username: username, command: command, status: .queued,
                      attempts: 0, createdAt: now)
        try job.insert(db)
        return job
    }

    public func undeliveredReplies(limit: Int) throws -> [Job] {
        try database.read { db in
            try Job.fetchAll(db, sql: "SELECT * FROM job WHERE reply IS NOT NULL AND delivered_at IS NULL ORDER BY id LIMIT ?",
                             arguments: [limit])
        }
    }

    public func markDelivered(jobID: Int64, now: Date) throws -> Bool {
        try database.write { try Self.markDelivered($0, jobID: jobID, now: now) }
    }

    /// Marks the reply delivered inside the caller's transaction; `false` if it already was.
    public static func markDelivered(_ db: Database, jobID: Int64, now: Date = Date()) throws -> Bool {
        try db.execute(sql: """
            UPDATE job SET delivered_at = ?, status = CASE status WHEN 'answered' THEN 'delivered' ELSE status END
            WHERE id = ? AND reply IS NOT NULL AND delivered_at IS NULL
            """, arguments: [now, jobID])
        return db.changesCount == 1
    }

    // MARK: The bots' side

    public func claim(owner: String, lease: TimeInterval, limit: Int, now: Date) throws -> [Job] {
        guard limit > 0 else { return [] }
        return try database.write { try Self.claim($0, owner: owner, lease: lease, limit: limit, now: now) }
    }

    public func answer(_ outcomes: [JobOutcome], owner: String, now: Date) throws -> Set<Int64> {
        guard !outcomes.isEmpty else { return [] }
        return try database.write { try Self.record($0, outcomes, owner: owner, now: now) }
    }

    public func answer(_ outcomes: [JobOutcome], owner: String, now: Date,
                       thenClaim limit: Int, lease: TimeInterval) throws -> (recorded: Set<Int64>, claimed: [Job]) {
        guard !outcomes.isEmpty || limit > 0 else { return ([], []) }
        return try database.write { db in
            let recorded = try Self.record(db, outcomes, owner: owner, now: now)
            return (recorded, limit > 0 ? try Self.claim(db, owner: owner, lease: lease, limit: limit, now: now) : [])
        }
    }

    /// One statement: `RETURNING` gives the rows in no promised order, so they are sorted by id.
    static func claim(_ db: Database, owner: String, lease: TimeInterval, limit: Int, now: Date) throws -> [Job] {
        try Job.fetchAll(db.cachedStatement(sql: """
            UPDATE job SET status = 'claimed', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?
            WHERE id IN (
                SELECT id FROM job
                WHERE (status = 'queued' AND (not_before IS NULL OR not_before <= ?))
                   OR (status = 'claimed' AND lease_expires_at <= ?)
                ORDER BY id LIMIT ?)
            RETURNING *
            """), arguments: [owner, now.addingTimeInterval(lease), now, now, limit])
        .sorted { $0.id! < $1.id! }
    }

    /// One statement per outcome, each conditional on the owner's lease, inside the caller's transaction.
    static func record(_ db: Database, _ outcomes: [JobOutcome], owner: String, now: Date) throws -> Set<Int64> {
        var recorded = Set<Int64>()
        for outcome in outcomes {
            switch outcome {
            case .answered(let id, let reply):
                try db.cachedStatement(sql: """
                    UPDATE job SET status = 'answered', reply = ?, answered_at = ?, lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND status = 'claimed' AND lease_owner = ?
                    """).execute(arguments: [reply, now, id, owner])
            case .retry(let id, let error, let retryAt):
                try db.cachedStatement(sql: """
                    UPDATE job SET status = 'queued', last_error = ?, not_before = ?, lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND status = 'claimed' AND lease_owner = ?
                    """).execute(arguments: [error, retryAt, id, owner])
            case .dead(let id, let error, let apology):
                try db.cachedStatement(sql: """
                    UPDATE job SET status = 'dead', last_error = ?, reply = ?, answered_at = ?, lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND status = 'claimed' AND lease_owner = ?
                    """).execute(arguments: [error, apology, now, id, owner])
            }
            if db.changesCount == 1 { recorded.insert(outcome.jobID) }
        }
        return recorded
    }

    public func renew(jobIDs: [Int64], owner: String, lease: TimeInterval, now: Date) throws -> Set<Int64> {
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

    public func release(jobID: Int64, owner: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE job SET status = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND status = 'claimed' AND lease_owner = ?
                """, arguments: [jobID, owner])
            return db.changesCount == 1
        }
    }

    // MARK: Both

    public func job(id: Int64) throws -> Job? {
        try database.read { try Job.fetchOne($0, key: id) }
    }

    public func isInstalled() throws -> Bool {
        try database.read { try $0.tableExists(Job.databaseTableName) }
    }

    /// Every commit to the file, whatever `kind` (`PRAGMA data_version` cannot tell tables apart).
    public func changes(of kind: JobQueueChange, wake: @escaping @Sendable () -> Void) throws -> any ChangeWatch {
        try DatabaseChangeWatcher(path: path)
    }
}

/// A row of the job table. A status the code does not know makes the read throw, naming the
/// column and the value (`DatabaseValueConvertible`), rather than being read as some other status.
extension Job: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "job"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Job.Status: DatabaseValueConvertible {}
