import Foundation
import Postgres
import ProcessSupport

/// The accounts tables in PostgreSQL (see `AccountsSchema.postgresMigrations`).
///
/// Each call is one statement, or one transaction on one connection of the pool. SQLite runs one
/// writer at a time; here several connections write at once, so the calls that count before they
/// write (a user's tokens against the limit, their sessions against `keep`) first lock the user's
/// row: two such calls for one user take turns, and the second counts what the first committed.
/// Usernames are compared as `lower(username COLLATE "C")`, the expression of the unique index.
///
/// Errors that are not the protocol's own (`AccountStoreError`) are thrown as `PostgresError`.
public struct PostgresAccountStore: AccountStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    // MARK: Users

    public func user(named username: String) throws -> User? {
        try database.withConnection { connection in
            try connection.query("""
                SELECT id, username, password_hash, created_at FROM "user"
                WHERE lower(username COLLATE "C") = lower($1 COLLATE "C")
                """, [username]).rows.first.map(Self.user)
        }
    }

    public func createUser(username: String, passwordHash: String, now: Date) throws -> User {
        do {
            let id = try database.withConnection { connection in
                try connection.query("""
                    INSERT INTO "user" (username, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id
                    """, [username, passwordHash, now]).scalar(Int64.self)
            }
            return User(id: try Self.require(id), username: username, passwordHash: passwordHash, createdAt: now)
        } catch let error as PostgresError where error.isUniqueViolation {
            throw AccountStoreError.usernameTaken
        }
    }

    public func deleteUser(named username: String) throws -> Bool {
        try database.withConnection { connection in
            try connection.query("""
                DELETE FROM "user" WHERE lower(username COLLATE "C") = lower($1 COLLATE "C")
                """, [username]).affectedRows > 0
        }
    }

    public func usersWithTokenCounts() throws -> [(user: User, tokens: Int)] {
        try database.withConnection { connection in
            try connection.query("""
                SELECT id, username, password_hash, created_at,
                    (SELECT count(*) FROM api_token WHERE user_id = "user".id) AS token_count
                FROM "user" ORDER BY id
                """).rows.map { (try Self.user($0), try $0.decode(4, as: Int.self)) }
        }
    }

    // MARK: Sessions

    public func createSession(userID: Int64, secretHash: [UInt8], now: Date, maxAge: Duration,
                              keep: Int) throws -> (id: Int64, ended: [Int64]) {
        try database.transaction { connection in
            try lockUser(userID, connection)
            // Logging in is a good moment to forget this user's sessions that ended.
            try connection.query("DELETE FROM session WHERE user_id = $1 AND expires_at < $2", [userID, now])
            let id = try connection.query("""
                INSERT INTO session (user_id, secret_hash, created_at, last_seen_at, expires_at)
                VALUES ($1, $2, $3, $3, $4) RETURNING id
                """, [userID, secretHash, now, now.addingTimeInterval(maxAge.seconds)]).scalar(Int64.self)
            let ended = try connection.query("""
                DELETE FROM session WHERE id IN (SELECT id FROM session WHERE user_id = $1 ORDER BY id DESC OFFSET $2)
                RETURNING id
                """, [userID, keep]).rows.map { try $0.decode(0, as: Int64.self) }
            // Newest first, as SQLite's store lists them (`DELETE … RETURNING` keeps no order).
            return (try Self.require(id), ended.sorted(by: >))
        }
    }

    public func deleteSession(id: Int64) throws {
        try database.withConnection { _ = try $0.query("DELETE FROM session WHERE id = $1", [id]) }
    }

    public func sessionCredential(id: Int64) throws -> StoredCredential? {
        try database.withConnection { connection in
            try connection.query("""
                SELECT session.user_id, "user".username, session.secret_hash, session.expires_at, session.last_seen_at
                FROM session JOIN "user" ON "user".id = session.user_id WHERE session.id = $1
                """, [id]).rows.first.map(Self.credential)
        }
    }

    public func touchSession(id: Int64, at time: Date) throws {
        try database.withConnection { _ = try $0.query("UPDATE session SET last_seen_at = $1 WHERE id = $2", [time, id]) }
    }

    // MARK: API tokens

    public func createToken(userID: Int64, name: String, secretHash: [UInt8], limit: Int, now: Date) throws -> APIToken {
        try database.transaction { connection in
            try lockUser(userID, connection)
            // A statement of its own after the lock: in READ COMMITTED each statement sees what was
            // committed before it began, so this count includes the tokens of a call that held the
            // lock before us.
            let held = try connection.query("SELECT count(*) FROM api_token WHERE user_id = $1", [userID]).scalar(Int.self) ?? 0
            guard held < limit else { throw AccountStoreError.tooManyTokens(limit: limit) }
            let id = try connection.query("""
                INSERT INTO api_token (user_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id
                """, [userID, name, secretHash, now]).scalar(Int64.self)
            return APIToken(id: try Self.require(id), userID: userID, name: name, secretHash: Data(secretHash),
                            createdAt: now, lastUsedAt: nil)
        }
    }

    public func tokens(userID: Int64) throws -> [APIToken] {
        try database.withConnection { connection in
            try connection.query("""
                SELECT id, user_id, name, secret_hash, created_at, last_used_at FROM api_token WHERE user_id = $1 ORDER BY id
                """, [userID]).rows.map { row in
                APIToken(id: try row.decode(0, as: Int64.self), userID: try row.decode(1, as: Int64.self),
                         name: try row.decode(2, as: String.self), secretHash: try row.decode(3, as: Data.self),
                         createdAt: try row.decode(4, as: Date.self), lastUsedAt: try row.decode(5, as: Date?.self))
            }
        }
    }

    public func deleteToken(id: Int64, userID: Int64) throws -> Bool {
        try database.withConnection { connection in
            try connection.query("DELETE FROM api_token WHERE id = $1 AND user_id = $2", [id, userID]).affectedRows > 0
        }
    }

    public func tokenCredential(id: Int64) throws -> StoredCredential? {
        try database.withConnection { connection in
            try connection.query("""
                SELECT api_token.user_id, "user".username, api_token.secret_hash, NULL::timestamptz AS expires_at, api_token.last_used_at
                FROM api_token JOIN "user" ON "user".id = api_token.user_id WHERE api_token.id = $1
                """, [id]).rows.first.map(Self.credential)
        }
    }

    public func touchToken(id: Int64, at time: Date) throws {
        try database.withConnection { _ = try $0.query("UPDATE api_token SET last_used_at = $1 WHERE id = $2", [time, id]) }
    }

    // MARK: Private

    /// Makes the user's other session and token calls wait until this transaction ends. `NO KEY`:
    /// rows that merely reference the user (an order being journalled) need not wait. A user that
    /// does not exist locks nothing, and the insert that follows fails on its foreign key, as in SQLite.
    private func lockUser(_ userID: Int64, _ connection: PostgresConnection) throws {
        try connection.query(#"SELECT 1 FROM "user" WHERE id = $1 FOR NO KEY UPDATE"#, [userID])
    }

    private static func user(_ row: PostgresRow) throws -> User {
        User(id: try row.decode(0, as: Int64.self), username: try row.decode(1, as: String.self),
             passwordHash: try row.decode(2, as: String.self), createdAt: try row.decode(3, as: Date.self))
    }

    private static func credential(_ row: PostgresRow) throws -> StoredCredential {
        StoredCredential(userID: try row.decode(0, as: Int64.self), username: try row.decode(1, as: String.self),
                         secretHash: try row.decode(2, as: [UInt8].self),
                         expiresAt: try row.decode(3, as: Date?.self), lastUsedAt: try row.decode(4, as: Date?.self))
    }

    /// `INSERT … RETURNING id` always returns a row; this says so if it ever did not.
    private static func require(_ id: Int64?) throws -> Int64 {
        guard let id else { throw PostgresError(.decoding, message: "INSERT … RETURNING id returned no row") }
        return id
    }
}
