import Foundation

/// What authentication needs to know about a session or token row.
public struct StoredCredential: Sendable {
    public let userID: Int64
    public let username: String
    public let secretHash: [UInt8]
    /// Sessions only: the absolute end.
    public let expiresAt: Date?
    public let lastUsedAt: Date?

    public init(userID: Int64, username: String, secretHash: [UInt8], expiresAt: Date?, lastUsedAt: Date?) {
        self.userID = userID
        self.username = username
        self.secretHash = secretHash
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
    }
}

public enum AccountStoreError: Error, Equatable {
    case usernameTaken
    /// The user holds `limit` tokens already.
    case tooManyTokens(limit: Int)
}

/// Users, their browser sessions and their API tokens, each call one transaction. Sessions and
/// tokens are stored as a hash of their secret only: a copy of the database lets nobody in.
/// Usernames are unique in any letter case; deleting a user deletes their sessions and tokens.
public protocol AccountStore: Sendable {
    // MARK: Users

    func user(named username: String) throws -> User?

    /// Inserts the user; `AccountStoreError.usernameTaken` if the name exists in any letter case.
    func createUser(username: String, passwordHash: String, now: Date) throws -> User

    /// Deletes the user with their sessions and tokens; `false` if there was none.
    func deleteUser(named username: String) throws -> Bool

    /// Every user with how many tokens they hold, oldest first.
    func usersWithTokenCounts() throws -> [(user: User, tokens: Int)]

    // MARK: Sessions

    /// Starts a session ending at `now + maxAge`, and ends the user's oldest ones so that at most
    /// `keep` remain (forgetting, too, those that expired). Returns the new session's id and the
    /// ids of the sessions it ended.
    func createSession(userID: Int64, secretHash: [UInt8], now: Date, maxAge: Duration,
                       keep: Int) throws -> (id: Int64, ended: [Int64])

    func deleteSession(id: Int64) throws

    func sessionCredential(id: Int64) throws -> StoredCredential?

    func touchSession(id: Int64, at time: Date) throws

    // MARK: API tokens

    /// Stores a token for the user; `AccountStoreError.tooManyTokens` when the user holds `limit`
    /// already (counted in the same transaction).
    func createToken(userID: Int64, name: String, secretHash: [UInt8], limit: Int, now: Date) throws -> APIToken

    /// The user's tokens, oldest first.
    func tokens(userID: Int64) throws -> [APIToken]

    /// `false` if the user has no such token.
    func deleteToken(id: Int64, userID: Int64) throws -> Bool

    func tokenCredential(id: Int64) throws -> StoredCredential?

    func touchToken(id: Int64, at time: Date) throws
}

extension AccountStore {
    public func createUser(username: String, passwordHash: String) throws -> User {
        try createUser(username: username, passwordHash: passwordHash, now: Date())
    }

    /// Creates a token for the user. The returned secret (`tdk_<id>_<secret>`) is shown once: only
    /// its hash is stored. `AccountStoreError.tooManyTokens` when the user holds `limit` already.
    public func createToken(userID: Int64, name: String, limit: Int, now: Date = Date()) throws -> (token: APIToken, secret: String) {
        let secret = SecretToken.newSecret()
        let token = try createToken(userID: userID, name: name, secretHash: Sodium.hash(secret), limit: limit, now: now)
        return (token, SecretToken(id: token.id!, secret: secret).apiToken)
    }
}
