import Foundation
import Logging
import Postgres
import Storage

/// The job table in PostgreSQL, which the responder and any number of bots share over their own
/// connections.
///
/// **Claims** lock the rows they take and skip the rows another claim holds (`FOR UPDATE SKIP
/// LOCKED`, in a CTE with `LIMIT`, then `UPDATE … RETURNING`), so bots that claim at once take
/// different jobs without waiting for each other; the lease works as in SQLite, and every other
/// call is conditional on it.
///
/// **Wake-ups** are notifications that carry no data, sent in the transaction that makes the
/// change and so delivered at its commit: `tradedesk_jobs` when jobs are queued or given back,
/// `tradedesk_replies` when answers or apologies are recorded. `changes(of:wake:)` listens on
/// one of them (`PostgresChangeWatch`), so a bot hears of a new job, and the responder of a reply,
/// within a round trip; the table stays the truth, and a waiter whose listening connection is
/// lost polls it until the watch is back.
///
/// ```swift
/// let queue = PostgresJobQueue(database: try PostgresDatabase(url: url), logger: logger)
/// let watch = try queue.changes(of: .newJobs) { loop.wake() }
/// let jobs = try queue.claim(owner: "bot-1", lease: 30, limit: 8, now: Date())
/// ```
public struct PostgresJobQueue: JobQueue {
    let database: PostgresDatabase
    /// Where the watches say that they lost, or got back, their listening connection.
    let logger: Logger

    public init(database: PostgresDatabase, logger: Logger = Logger(label: "tradedesk.jobs")) {
        self.database = database
        self.logger = logger
    }

    // MARK: The responder's side

    public func enqueue(roomID: Int64, userID: Int64?, username: String, command: String, now: Date) throws -> Job {
        try database.withConnection { connection in
            guard let job = try Self.enqueue(connection, [(roomID, userID, username, command)], now: now).first else {
                throw PostgresError(.decoding, message: "an INSERT into job returned no row")
            }
            return job
        }
    }

    /// A command to queue: its room, user, username and text.
    public typealias Command = (roomID: Int64, userID: Int64?, username: String, command: String)

    /// Queues `commands` in one statement, on `connection` (inside the caller's transaction, the
    /// chat's, or alone), and notifies the bots: they hear of it at commit. Returns the jobs in
    /// the commands' order.
    public static func enqueue(_ connection: PostgresConnection, _ commands: [Command], now: Date = Date()) throws -> [Job] {
        guard !commands.isEmpty else { return [] }
        // Rows are inserted in the commands' order, so their ids grow in it: sorting by id restores
        // it, whatever order the outer SELECT returns them in.
        return try connection.query("""
            WITH queued AS (
                INSERT INTO job (room_id, user_id, username, command, status, attempts, created_at)
                SELECT c.room_id, c.user_id, c.username, c.command, 'queued', 0, $5::timestamptz
                FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY
                    AS c(room_id, user_id, username, command, n)
                ORDER BY c.n
                RETURNING \(columns))
            SELECT \(columns), pg_notify('\(channel(of: .newJobs))', '') FROM queued
            """, [commands.map(\.roomID), commands.map(\.userID), commands.map(\.username), commands.map(\.command), now])
            .rows.map(Job.init(row:)).sorted { $0.id! < $1.id! }
    }

    public func undeliveredReplies(limit: Int) throws -> [Job] {
        try database.withConnection { connection in
            try connection.query("SELECT \(Self.columns) FROM job WHERE reply IS NOT NULL AND delivered_at IS NULL ORDER BY id LIMIT $1",
                                 [limit]).rows.map(Job.init(row:))
        }
    }

    public func markDelivered(jobID: Int64, now: Date) throws -> Bool {
        try database.withConnection { try Self.markDelivered($0, jobIDs: [jobID], now: now).contains(jobID) }
    }

    /// Marks the replies of `jobIDs` delivered in one statement, on `connection` (inside the
    /// caller's transaction); returns those that were not delivered yet.
    public static func markDelivered(_ connection: PostgresConnection, jobIDs: [Int64], now: Date = Date()) throws -> Set<Int64> {
        guard !jobIDs.isEmpty else { return [] }
        return Set(try connection.query("""
            UPDATE job SET delivered_at = $1::timestamptz, status = CASE status WHEN 'answered' THEN 'delivered' ELSE status END
            WHERE id = ANY($2::bigint[]) AND reply IS NOT NULL AND delivered_at IS NULL
            RETURNING id
            """, [now, jobIDs]).rows.map { try $0.decode(0, as: Int64.self) })
    }

    // MARK: The bots' side

    public func claim(owner: String, lease: TimeInterval, limit: Int, now: Date) throws -> [Job] {
        guard limit > 0 else { return [] }
        return try database.withConnection { try Self.claim($0, owner: owner, lease: lease, limit: limit, now: now) }
    }

    public func answer(_ outcomes: [JobOutcome], owner: String, now: Date) throws -> Set<Int64> {
        guard !outcomes.isEmpty else { return [] }
        return try database.withConnection { try Self.record($0, outcomes, owner: owner, now: now) }
    }

    public func answer(_ outcomes: [JobOutcome], owner: String, now: Date,
                       thenClaim limit: Int, lease: TimeInterval) throws -> (recorded: Set<Int64>, claimed: [Job]) {
        if outcomes.isEmpty { return ([], try claim(owner: owner, lease: lease, limit: limit, now: now)) }
        if limit <= 0 { return (try answer(outcomes, owner: owner, now: now), []) }
        // Two statements: one cannot both finish a job and claim it again (a job whose lease
        // expired may be among those answered), and the claim must see the answers.
        return try database.transaction { connection in
            let recorded = try Self.record(connection, outcomes, owner: owner, now: now)
            return (recorded, try Self.claim(connection, owner: owner, lease: lease, limit: limit, now: now))
        }
    }

    /// The oldest claimable jobs that no other claim holds at this moment. A row that another
    /// transaction changed and committed while this one waited is checked again against the
    /// conditions (`EvalPlanQual`), so a job is never claimed twice.
    static func claim(_ connection: PostgresConnection, owner: String, lease: TimeInterval, limit: Int, now: Date) throws -> [Job] {
        try connection.query("""
            WITH due AS (
                SELECT id FROM job
                WHERE (status = 'queued' AND (not_before IS NULL OR not_before <= $3::timestamptz))
                   OR (status = 'claimed' AND lease_expires_at <= $3::timestamptz)
                ORDER BY id
                LIMIT $4
                FOR UPDATE SKIP LOCKED)
            UPDATE job SET status = 'claimed', attempts = job.attempts + 1, lease_owner = $1, lease_expires_at = $2::timestamptz
            FROM due WHERE job.id = due.id
            RETURNING \(qualifiedColumns)
            """, [owner, now.addingTimeInterval(lease), now, limit])
            .rows.map(Job.init(row:)).sorted { $0.id! < $1.id! }
    }

    /// Every outcome in one statement, each row conditional on the owner's lease; notifies the
    /// responder when a reply (an answer or an apology) was recorded.
    static func record(_ connection: PostgresConnection, _ outcomes: [JobOutcome], owner: String, now: Date) throws -> Set<Int64> {
        // A job decided twice keeps its first outcome, as one statement per outcome would.
        var seen = Set<Int64>()
        let outcomes = outcomes.filter { seen.insert($0.jobID).inserted }
        var ids: [Int64] = [], kinds: [String] = [], replies: [String?] = [], errors: [String?] = [], retryAt: [Date?] = []
        for outcome in outcomes {
            ids.append(outcome.jobID)
            switch outcome {
            case .answered(_, let reply):
                kinds.append("answered"); replies.append(reply); errors.append(nil); retryAt.append(nil)
            case .retry(_, let error, let at):
                kinds.append("retry"); replies.append(nil); errors.append(error); retryAt.append(at)
            case .dead(_, let error, let apology):
                kinds.append("dead"); replies.append(apology); errors.append(error); retryAt.append(nil)
            }
        }
        return Set(try connection.query("""
            WITH recorded AS (
                UPDATE job SET
                    status = CASE o.kind WHEN 'answered' THEN 'answered' WHEN 'retry' THEN 'queued' ELSE 'dead' END,
                    reply = CASE o.kind WHEN 'retry' THEN job.reply ELSE o.reply END,
                    last_error = CASE o.kind WHEN 'answered' THEN job.last_error ELSE o.error END,
                    not_before = CASE o.kind WHEN 'retry' THEN o.retry_at ELSE job.not_before END,
                    answered_at = CASE o.kind WHEN 'retry' THEN job.answered_at ELSE $6::timestamptz END,
                    lease_owner = NULL, lease_expires_at = NULL
                FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS o(id, kind, reply, error, retry_at)
                WHERE job.id = o.id AND job.status = 'claimed' AND job.lease_owner = $7
                RETURNING job.id, o.kind)
            SELECT id, CASE WHEN kind <> 'retry' THEN pg_notify('\(channel(of: .replies))', '') END FROM recorded
            """, [ids, kinds, replies, errors, retryAt, now, owner], planning: .eachRun).rows.map { try $0.decode(0, as: Int64.self) })
    }

    public func renew(jobIDs: [Int64], owner: String, lease: TimeInterval, now: Date) throws -> Set<Int64> {
        guard !jobIDs.isEmpty else { return [] }
        return try database.withConnection { connection in
            Set(try connection.query("""
                UPDATE job SET lease_expires_at = $1::timestamptz
                WHERE status = 'claimed' AND lease_owner = $2 AND id = ANY($3::bigint[])
                RETURNING id
                """, [now.addingTimeInterval(lease), owner, jobIDs]).rows.map { try $0.decode(0, as: Int64.self) })
        }
    }

    /// The job given back is claimable at once: the bots are told.
    public func release(jobID: Int64, owner: String) throws -> Bool {
        try database.withConnection { connection in
            try connection.query("""
                WITH released AS (
                    UPDATE job SET status = 'queued', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = $1 AND status = 'claimed' AND lease_owner = $2
                    RETURNING id)
                SELECT id, pg_notify('\(Self.channel(of: .newJobs))', '') FROM released
                """, [jobID, owner]).affectedRows == 1
        }
    }

    // MARK: Both

    public func job(id: Int64) throws -> Job? {
        try database.withConnection { connection in
            try connection.query("SELECT \(Self.columns) FROM job WHERE id = $1", [id]).rows.first.map(Job.init(row:))
        }
    }

    public func isInstalled() throws -> Bool {
        try database.withConnection { try $0.query("SELECT to_regclass('job') IS NOT NULL").scalar(Bool.self) == true }
    }

    /// A watch that listens on `kind`'s channel over a connection of its own (one per waiter).
    public func changes(of kind: JobQueueChange, wake: @escaping @Sendable () -> Void) throws -> any ChangeWatch {
        try PostgresChangeWatch(database: database, channel: Self.channel(of: kind), logger: logger, wake: wake)
    }

    /// The notification channel of each kind of change.
    static func channel(of kind: JobQueueChange) -> String {
        switch kind {
        case .newJobs: "tradedesk_jobs"
        case .replies: "tradedesk_replies"
        }
    }

    /// What every read selects, in the order `Job(row:)` reads them.
    static let columns = """
        id, room_id, user_id, username, command, status, attempts, lease_owner, lease_expires_at, not_before, \
        reply, last_error, created_at, answered_at, delivered_at
        """
    /// `columns` of the table `job`, where a statement also reads another table with an `id`.
    static let qualifiedColumns = columns.split(separator: ",").map { "job." + $0.trimmingCharacters(in: .whitespaces) }
        .joined(separator: ", ")
}

extension Job {
    /// A row with `PostgresJobQueue.columns`, read by position. A status the code does not know
    /// makes the read throw, naming the value, rather than being read as some other status.
    init(row: PostgresRow) throws {
        let status = try row.decode(5, as: String.self)
        guard let known = Status(rawValue: status) else {
            throw PostgresError(.decoding, message: "column status: a job status this program does not know: \"\(status)\"")
        }
        self.init(id: try row.decode(0), roomID: try row.decode(1), userID: try row.decode(2), username: try row.decode(3),
                  command: try row.decode(4), status: known, attempts: try row.decode(6), leaseOwner: try row.decode(7),
                  leaseExpiresAt: try row.decode(8), notBefore: try row.decode(9), reply: try row.decode(10),
                  lastError: try row.decode(11), createdAt: try row.decode(12), answeredAt: try row.decode(13),
                  deliveredAt: try row.decode(14))
    }
}
