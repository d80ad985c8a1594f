import Foundation
import GRDB
import HTTP

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

/// The JSON shapes of the API.
struct RoomBody: Encodable {
    let id: Int64
    let name: String
    let createdBy: String
    let createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, name
        case createdBy = "created_by"
        case createdAt = "created_at"
    }

    init(_ room: Room) {
        id = room.id
        name = room.name
        createdBy = room.createdBy
        createdAt = room.createdAt.apiTimestamp
    }
}

struct MessageBody: Encodable {
    let id: Int64
    let room: Int64
    let author: String
    let text: String
    let createdAt: String
    let bot: Bool

    enum CodingKeys: String, CodingKey {
        case id, room, author, text, bot
        case createdAt = "created_at"
    }

    init(_ message: Message) {
        id = message.id
        room = message.roomID
        author = message.author
        text = message.text
        createdAt = message.createdAt.apiTimestamp
        bot = message.bot
    }
}
