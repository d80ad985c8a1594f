import Foundation
import GRDB
import ProcessSupport

/// The accounts tables in the SQLite file (see `AccountsSchema`).
public struct SQLiteAccountStore: AccountStore {
    let database: DatabasePool

    public init(database: DatabasePool) { self.database = database }

    // MARK: Users

    public func user(named username: String) throws -> User? {
        try database.read { try User.filter(Column("username") == username).fetchOne($0) }
    }

    public func createUser(username: String, passwordHash: String, now: Date) throws -> User {
        do {
            return try database.write { db in
                var user = User(id: nil, username: username, passwordHash: passwordHash, createdAt: now)
                try user.insert(db)
                return user
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw AccountStoreError.usernameTaken
        }
    }

    public func deleteUser(named username: String) throws -> Bool {
        try database.write { try User.filter(Column("username") == username).deleteAll($0) > 0 }
    }

    public func usersWithTokenCounts() throws -> [(user: User, tokens: Int)] {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT user.*, (SELECT COUNT(*) FROM api_token WHERE user_id = user.id) AS token_count
                FROM user ORDER BY id
                """)
            return try rows.map { (try User(row: $0), $0["token_count"] as Int) }
        }
    }

    // MARK: Sessions

    public func createSession(userID: Int64, secretHash: [UInt8], now: Date, maxAge: Duration,
                       keep: Int) throws -> (id: Int64, ended: [Int64]) {
        try database.write { db in
            // Logging in is a good moment to forget this user's sessions that ended.
            try db.execute(sql: "DELETE FROM session WHERE user_id = ? AND expires_at < ?", arguments: [userID, now])
            var session = SessionRecord(id: nil, userID: userID, secretHash: Data(secretHash), createdAt: now,
                                        lastSeenAt: now, expiresAt: now.addingTimeInterval(maxAge.seconds))
            try session.insert(db)
            let ended = try Int64.fetchAll(db, sql: "SELECT id FROM session WHERE user_id = ? ORDER BY id DESC LIMIT -1 OFFSET ?",
                                           arguments: [userID, keep])
            try SessionRecord.deleteAll(db, keys: ended)
            return (session.id!, ended)
        }
    }

    public func deleteSession(id: Int64) throws {
        _ = try database.write { try SessionRecord.deleteOne($0, key: id) }
    }

    public func sessionCredential(id: Int64) throws -> StoredCredential? {
        try database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT session.user_id, user.username, session.secret_hash, session.expires_at, session.last_seen_at
                FROM session JOIN user ON user.id = session.user_id WHERE session.id = ?
                """, arguments: [id]).map(Self.credential)
        }
    }

    public func touchSession(id: Int64, at time: Date) throws {
        try database.write { try $0.execute(sql: "UPDATE session SET last_seen_at = ? WHERE id = ?", arguments: [time, id]) }
    }

    // MARK: API tokens

    public func createToken(userID: Int64, name: String, secretHash: [UInt8], limit: Int, now: Date) throws -> APIToken {
        try database.write { db in
            let held = try APIToken.filter(Column("user_id") == userID).fetchCount(db)
            guard held < limit else { throw AccountStoreError.tooManyTokens(limit: limit) }
            var token = APIToken(id: nil, userID: userID, name: name, secretHash: Data(secretHash),
                                 createdAt: now, lastUsedAt: nil)
            try token.insert(db)
            return token
        }
    }

    public func tokens(userID: Int64) throws -> [APIToken] {
        try database.read { try APIToken.filter(Column("user_id") == userID).order(Column("id")).fetchAll($0) }
    }

    public func deleteToken(id: Int64, userID: Int64) throws -> Bool {
        try database.write { db in
            try APIToken.filter(Column("id") == id && Column("user_id") == userID).deleteAll(db) > 0
        }
    }

    public func tokenCredential(id: Int64) throws -> StoredCredential? {
        try database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT api_token.user_id, user.username, api_token.secret_hash, NULL AS expires_at, api_token.last_used_at
                FROM api_token JOIN user ON user.id = api_token.user_id WHERE api_token.id = ?
                """, arguments: [id]).map(Self.credential)
        }
    }

    public func touchToken(id: Int64, at time: Date) throws {
        try database.write { try $0.execute(sql: "UPDATE api_token SET last_used_at = ? WHERE id = ?", arguments: [time, id]) }
    }

    private static func credential(_ row: Row) throws -> StoredCredential {
        StoredCredential(userID: try row.decode(atIndex: 0), username: try row.decode(atIndex: 1),
                         secretHash: Array(try row.decode(Data.self, atIndex: 2)),
                         expiresAt: try row.decode(atIndex: 3), lastUsedAt: try row.decode(atIndex: 4))
    }
}

// The rows, through GRDB's `Codable` records: a value of the wrong type makes the read throw,
// naming the column.

extension User: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "user"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension APIToken: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "api_token"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A browser login. The cookie holds `<id>.<secret>`; the row holds a hash of the secret.
struct SessionRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "session"
    var id: Int64?
    var userID: Int64
    var secretHash: Data
    var createdAt: Date
    var lastSeenAt: Date
    var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case userID = "user_id"
        case secretHash = "secret_hash"
        case createdAt = "created_at"
        case lastSeenAt = "last_seen_at"
        case expiresAt = "expires_at"
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
