import Foundation

/// A chat command waiting for, or answered by, the bot.
public struct Job: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case queued, claimed, answered, delivered, dead
    }

    public var id: Int64?
    public var roomID: Int64
    public var userID: Int64?
    public var username: String
    public var command: String
    public var status: Status
    public var attempts: Int
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?
    public var notBefore: Date?
    public var reply: String?
    public var lastError: String?
    public var createdAt: Date
    public var answeredAt: Date?
    public var deliveredAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, username, command, status, attempts, reply
        case roomID = "room_id"
        case userID = "user_id"
        case leaseOwner = "lease_owner"
        case leaseExpiresAt = "lease_expires_at"
        case notBefore = "not_before"
        case lastError = "last_error"
        case createdAt = "created_at"
        case answeredAt = "answered_at"
        case deliveredAt = "delivered_at"
    }
}
