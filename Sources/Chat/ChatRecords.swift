import Foundation

public struct Room: Codable, Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let createdBy: String
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name
        case createdBy = "created_by"
        case createdAt = "created_at"
    }

    public init(id: Int64, name: String, createdBy: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

public struct Message: Codable, Sendable, Equatable {
    public let id: Int64
    public let roomID: Int64
    public let author: String
    public let text: String
    public let bot: Bool
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, author, text, bot
        case roomID = "room_id"
        case createdAt = "created_at"
    }

    public init(id: Int64, roomID: Int64, author: String, text: String, bot: Bool, createdAt: Date) {
        self.id = id
        self.roomID = roomID
        self.author = author
        self.text = text
        self.bot = bot
        self.createdAt = createdAt
    }
}
