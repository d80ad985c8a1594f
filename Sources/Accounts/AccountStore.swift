import Foundation
import GRDB
import ProcessSupport

/// What authentication needs to know about a session or token row.
struct StoredCredential: Sendable {
    let userID: Int64
    let username: String
    let secretHash: [UInt8]
    /// Sessions only: the absolute end.
    let expiresAt: Date?
    let lastUsedAt: Date?
}

public enum AccountStoreError: Error, Equatable {
    case usernameTaken
    /// The user holds `limit` tokens already.
    case tooManyTokens(limit: Int)
}

/// The accounts tables, one transaction per call.
public struct AccountStore: Sendable {
    let database: DatabasePool

    public init(database: DatabasePool) { self.database = database }

    // MARK: Users

    public func user(named username: String) throws -> User? {
        try database.read { try User.filter(Column("username") == username).fetchOne($0) }
    }

    /// Inserts the user; `usernameTaken` if the name exists in any letter case.
    public func createUser(username: String, passwordHash: String, now: Date = Date()) throws -> User {
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

    /// Deletes the user with their sessions and tokens; `false` if there was none.
    public func deleteUser(named username: String) throws -> Bool {
        try database.write { try User.filter(Column("username") == username).deleteAll($0) > 0 }
    }

    /// Every user with how many tokens they hold, oldest first.
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

    /// Starts a session, and ends the user's oldest ones so that at most `keep` remain. Returns the
    /// new session's id and the ids of the sessions it ended.
    func createSession(userID: Int64, secretHash: [UInt8], now: Date, maxAge: Duration,
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

    func deleteSession(id: Int64) throws {
        _ = try database.write { try SessionRecord.deleteOne($0, key: id) }
    }

    func sessionCredential(id: Int64) throws -> StoredCredential? {
        try database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT session.user_id, user.username, session.secret_hash, session.expires_at, session.last_seen_at
                FROM session JOIN user ON user.id = session.user_id WHERE session.id = ?
                """, arguments: [id]).map(Self.credential)
        }
    }

    func touchSession(id: Int64, at time: Date) throws {
        try database.write { try $0.execute(sql: "UPDATE session SET last_seen_at = ? WHERE id = ?", arguments: [time, id]) }
    }

    // MARK: API tokens

    /// Creates a token for the user. The returned secret (`tdk_<id>_<secret>`) is shown once: only
    /// its hash is stored.
    /// `tooManyTokens` when the user holds `limit` already.
    public func createToken(userID: Int64, name: String, limit: Int, now: Date = Date()) throws -> (token: APIToken, secret: String) {
        let secret = SecretToken.newSecret()
        let token = try database.write { db in
            let held = try APIToken.filter(Column("user_id") == userID).fetchCount(db)
            guard held < limit else { throw AccountStoreError.tooManyTokens(limit: limit) }
            var token = APIToken(id: nil, userID: userID, name: name, secretHash: Data(Sodium.hash(secret)),
                                 createdAt: now, lastUsedAt: nil)
            try token.insert(db)
            return token
        }
        return (token, SecretToken(id: token.id!, secret: secret).apiToken)
    }

    public func tokens(userID: Int64) throws -> [APIToken] {
        try database.read { try APIToken.filter(Column("user_id") == userID).order(Column("id")).fetchAll($0) }
    }

    /// `false` if the user has no such token.
    func deleteToken(id: Int64, userID: Int64) throws -> Bool {
        try database.write { db in
            try APIToken.filter(Column("id") == id && Column("user_id") == userID).deleteAll(db) > 0
        }
    }

    func tokenCredential(id: Int64) throws -> StoredCredential? {
        try database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT api_token.user_id, user.username, api_token.secret_hash, NULL AS expires_at, api_token.last_used_at
                FROM api_token JOIN user ON user.id = api_token.user_id WHERE api_token.id = ?
                """, arguments: [id]).map(Self.credential)
        }
    }

    func touchToken(id: Int64, at time: Date) throws {
        try database.write { try $0.execute(sql: "UPDATE api_token SET last_used_at = ? WHERE id = ?", arguments: [time, id]) }
    }

    private static func credential(_ row: Row) -> StoredCredential {
        StoredCredential(userID: row[0], username: row[1], secretHash: Array(row[2] as Data),
                         expiresAt: row[3], lastUsedAt: row[4])
    }
}
