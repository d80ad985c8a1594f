import Foundation
import GRDB

public struct Room: Codable, Sendable, Equatable, FetchableRecord {
    public let id: Int64
    public let name: String
    public let createdBy: String
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name
        case createdBy = "created_by"
        case createdAt = "created_at"
    }
}

public struct Message: Codable, Sendable, Equatable, FetchableRecord {
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

    /// Every message read selects `id, room_id, author, text, bot, created_at`, in this order
    /// (`ChatStore.messageColumns`): read by position, which costs a fifth of decoding by name
    /// through `Decodable` (profiled on the last-50 read).
    public init(row: Row) throws {
        id = row[0]
        roomID = row[1]
        author = row[2]
        text = row[3]
        bot = row[4]
        createdAt = row[5]
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
