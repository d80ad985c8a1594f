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

/// The JSON of a list of messages, written by hand: byte for byte what `HTTPResponse.json` writes for
/// `[MessageBody]` (`JSONEncoder`, sorted keys, slashes unescaped; `ChatRecordTests` compares them),
/// at a fraction of the cost. Every read of the chat answers with one, and `JSONEncoder`'s generic
/// machinery was the largest part of the last-50 read (profiled with `perf`).
enum MessageListJSON {
    static func response(_ messages: [Message]) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: encode(messages))
    }

    static func encode(_ messages: [Message]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2 + messages.reduce(0) { $0 + 110 + $1.author.utf8.count + $1.text.utf8.count })
        out.append(UInt8(ascii: "["))
        for (index, message) in messages.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += #"{"author":"#.utf8
            appendString(message.author, to: &out)
            out += (message.bot ? #","bot":true,"created_at":"# : #","bot":false,"created_at":"#).utf8
            appendString(message.createdAt.apiTimestamp, to: &out)
            out += #","id":"#.utf8
            out += String(message.id).utf8
            out += #","room":"#.utf8
            out += String(message.roomID).utf8
            out += #","text":"#.utf8
            appendString(message.text, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// A JSON string: `"` and `\` escaped, control characters as `JSONEncoder` writes them; the rest
    /// (UTF-8, which a Swift string always is) as it is.
    static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x08: out += #"\b"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case 0x0C: out += #"\f"#.utf8
            case 0x0D: out += #"\r"#.utf8
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += #"\u00"#.utf8
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
