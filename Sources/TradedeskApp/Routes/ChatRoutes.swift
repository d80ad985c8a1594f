import Accounts
import Chat
import Foundation
import HTTP
import Locking

/// `/api/rooms` and `/api/rooms/{id}/messages`.
enum ChatRoutes {
    struct NewRoom: Decodable { let name: String }
    struct NewMessage: Decodable { let text: String }
    struct Queued: Encodable {
        let status = "queued"
        let job: Int64
    }

    static func register(in router: inout Router, chat: ChatService, accounts: AccountService) {
        router.group(Authenticated(accounts: accounts)) { routes in
            routes.get("/api/rooms") { request, _ in
                let after = try integer(request, "after", in: 0...Int64.max) ?? 0
                let limit = try integer(request, "limit", in: 1...Int64(ChatConfiguration.maxRoomPage)).map(Int.init)
                    ?? ChatConfiguration.defaultRoomPage
                return .json(try chat.store.rooms(after: after, limit: limit).map(RoomBody.init))
            }

            routes.post("/api/rooms") { request, identity in
                try limit(chat, .rooms, identity.userID, "rooms created")
                let name = try request.decodeJSON(NewRoom.self).name.trimmingCharacters(in: .whitespacesAndNewlines)
                guard (1...ChatConfiguration.maxRoomNameLength).contains(name.unicodeScalars.count) else {
                    throw HTTPError.badRequest("field 'name' must be 1 to 64 characters")
                }
                try refuseControlCharacters(name, field: "name", exceptLineBreaks: false)
                do {
                    return .json(RoomBody(try chat.store.createRoom(name: name, by: identity.username)), status: .created)
                } catch ChatStoreError.roomNameTaken {
                    throw ChatError.roomNameTaken(name)
                }
            }

            routes.get("/api/rooms/{id}/messages") { request, identity in
                let room = try room(request, chat)
                let after = try integer(request, "after", in: 0...Int64.max)
                let wait = try waitSeconds(request)
                let messages = try after.map { try chat.store.messages(roomID: room, after: $0) } ?? chat.store.lastMessages(roomID: room)
                guard messages.isEmpty, wait > 0 else { return MessageListJSON.response(messages) }

                // Nothing new: hold until a post in this room, or the wait ends.
                let waiter = Locked<UInt64?>(nil)
                let pending = try request.hold(owner: identity.userID) { waiter.withLock { $0 }.map { chat.stopWaiting($0, roomID: room) } }
                let id = try chat.wait(roomID: room, after: after ?? 0, wait: .milliseconds(Int64(wait * 1000))) { result in
                    switch result {
                    // One encoding for every waiter that had the same cursor.
                    case .success(let batch): pending.respond(batch.shared { MessageListJSON.response(batch.messages) })
                    case .failure(let error): pending.respond(error)
                    }
                }
                waiter.withLock { $0 = id }
                return nil
            }

            routes.post("/api/rooms/{id}/messages") { request, identity in
                let room = try room(request, chat)
                let text = try request.decodeJSON(NewMessage.self).text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard (1...ChatConfiguration.maxTextLength).contains(text.unicodeScalars.count) else {
                    throw HTTPError.badRequest("field 'text' must be 1 to 1000 characters (after trimming spaces)")
                }
                try refuseControlCharacters(text, field: "text", exceptLineBreaks: true)
                let post: NewPost
                if text.hasPrefix("/") {
                    try limit(chat, .commands, identity.userID, "commands")
                    post = .command(roomID: room, userID: identity.userID, username: identity.username, command: text)
                } else {
                    try limit(chat, .messages, identity.userID, "messages")
                    post = .message(roomID: room, author: identity.username, text: text)
                }
                // Held until the post's group is committed. A client that leaves meanwhile changes
                // nothing: a queued post is committed once, heard or not.
                let pending = try request.hold(owner: identity.userID)
                do {
                    try chat.submit(post) { result in
                        switch result {
                        case .success(.message(let message)): pending.respond(.json(MessageBody(message), status: .created))
                        case .success(.job(let job)): pending.respond(.json(Queued(job: job.id!), status: .accepted))
                        case .failure(let error): pending.respond(error)
                        }
                    }
                } catch {
                    pending.respond(error)
                }
                return nil
            }
        }
    }

    /// The room of the path; 404 for a malformed id or a room that does not exist.
    static func room(_ request: HTTPRequest, _ chat: ChatService) throws -> Int64 {
        guard let id = request.pathParameter("id").flatMap(Int64.init), try chat.store.room(id: id) != nil else {
            throw ChatError.noSuchRoom
        }
        return id
    }

    static func integer(_ request: HTTPRequest, _ name: String, in range: ClosedRange<Int64>) throws(HTTPError) -> Int64? {
        guard let text = request.query[name] else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw .badRequest(range.upperBound == .max ? "query '\(name)' must be a whole number from \(range.lowerBound)"
                                : "query '\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func waitSeconds(_ request: HTTPRequest) throws(HTTPError) -> Double {
        guard let text = request.query["wait"] else { return 0 }
        guard let seconds = Double(text), (0...ChatConfiguration.maxWait).contains(seconds) else {
            throw .badRequest("query 'wait' must be a number of seconds from 0 to 30")
        }
        return seconds
    }

    static func limit(_ chat: ChatService, _ kind: ChatService.Allowance, _ userID: Int64, _ what: String) throws(HTTPError) {
        if let wait = chat.takeAllowance(kind, userID: userID) { throw .tooMany(what, retryAfter: wait) }
    }

    /// What people read holds no control characters (NUL, escape sequences, bells), though a
    /// message may have tabs and line breaks.
    private static func refuseControlCharacters(_ text: String, field: String, exceptLineBreaks: Bool) throws(HTTPError) {
        let allowed: Set<Unicode.Scalar> = exceptLineBreaks ? ["\n", "\r", "\t"] : []
        if let bad = text.unicodeScalars.first(where: { $0.properties.generalCategory == .control && !allowed.contains($0) }) {
            throw .badRequest("field '\(field)' must not contain control characters (found \(String(format: "U+%04X", bad.value)))")
        }
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
