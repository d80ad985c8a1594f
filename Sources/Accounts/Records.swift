import Foundation
import GRDB

/// A registered user.
public struct User: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "user"
    public var id: Int64?
    public var username: String
    public var passwordHash: String
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, username
        case passwordHash = "password_hash"
        case createdAt = "created_at"
    }

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

/// A bearer token for scripts. The client holds `tdk_<id>_<secret>`; the row holds a hash of the secret.
public struct APIToken: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "api_token"
    public var id: Int64?
    public var userID: Int64
    public var name: String
    var secretHash: Data
    public var createdAt: Date
    public var lastUsedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name
        case userID = "user_id"
        case secretHash = "secret_hash"
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
