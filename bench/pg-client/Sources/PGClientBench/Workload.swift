import Foundation

/// The query path both clients run: the responder's hottest read, and one write.
///
/// run.sh creates the tables and rows (`schema.sql`); the statements here are the ones a
/// PostgreSQL account store would prepare, so what is measured is what the responder would pay.
public enum Workload {
    /// The session lookup every authenticated request makes, by primary key.
    public static let lookupSQL = """
        SELECT s.user_id, u.username, s.secret_hash, s.expires_at, s.last_seen_at \
        FROM session s JOIN "user" u ON u.id = s.user_id WHERE s.id = $1
        """

    /// A sign-in's write. It runs in a transaction of its own (BEGIN, this, COMMIT), as a store
    /// method that writes would, so each one pays a commit and its WAL flush.
    public static let insertSQL = """
        INSERT INTO session (user_id, secret_hash, created_at, last_seen_at, expires_at) \
        VALUES ($1, $2, $3, $3, $4) RETURNING id
        """

    /// How long a new session lives; only there so that the row looks like a real one.
    public static let sessionLifetime: TimeInterval = 30 * 24 * 3600
}

/// A decoded lookup row: both clients turn the wire format into these Swift values, so that
/// decoding is part of what is measured.
public struct SessionRow: Sendable {
    public var userID: Int64
    public var username: String
    public var secretHash: [UInt8]
    public var expiresAt: Date
    public var lastSeenAt: Date

    public init(userID: Int64, username: String, secretHash: [UInt8], expiresAt: Date, lastSeenAt: Date) {
        self.userID = userID
        self.username = username
        self.secretHash = secretHash
        self.expiresAt = expiresAt
        self.lastSeenAt = lastSeenAt
    }
}

/// One connection's worth of the workload. Each bench thread makes its own and is the only one
/// to use it, as a responder thread would use the connection it holds; so it need not be Sendable.
public protocol SessionQueries: AnyObject {
    /// The lookup; throws when the session does not exist (every id the bench asks for does).
    func lookup(sessionID: Int64) throws -> SessionRow
    /// The insert in its own transaction; returns the new id.
    func insertSession(userID: Int64, secretHash: [UInt8], now: Date) throws -> Int64
}

/// What a client throws when an answer is not what the workload expects.
public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
