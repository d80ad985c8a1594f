import Foundation

/// A registered user.
public struct User: Codable, Sendable {
    public var id: Int64?
    public var username: String
    public var passwordHash: String
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, username
        case passwordHash = "password_hash"
        case createdAt = "created_at"
    }
}

/// A bearer token for scripts. The client holds `tdk_<id>_<secret>`; the row holds a hash of the secret.
public struct APIToken: Codable, Sendable {
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
}
