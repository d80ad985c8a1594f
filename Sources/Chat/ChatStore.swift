import Foundation
import GRDB
import JobQueue
import Storage

public enum ChatStoreError: Error, Equatable {
    case roomNameTaken
}

/// Rooms and messages in the database, one transaction per call. What every long-poll and post runs
/// is prepared once per connection (`cachedStatement`): preparing costs more than running it.
public struct ChatStore: Sendable {
    public let database: DatabasePool
    /// The author of the bot's replies (a reserved username).
    public static let botName = "stockbot"
    /// A first load, and each `after` page, carries at most this many messages.
    public static let pageSize = 50

    public init(database: DatabasePool) { self.database = database }

    /// Up to `limit` rooms with ids above `after`, oldest first: a page of the room list.
    public func rooms(after: Int64 = 0, limit: Int) throws -> [Room] {
        try database.read {
            try Room.fetchAll($0, sql: "SELECT id, name, created_by, created_at FROM room WHERE id > ? ORDER BY id LIMIT ?",
                              arguments: [after, limit])
        }
    }

    public func room(id: Int64) throws -> Room? {
        try database.read { db in
            try Room.fetchOne(db.cachedStatement(sql: "SELECT id, name, created_by, created_at FROM room WHERE id = ?"), arguments: [id])
        }
    }

    public func createRoom(name: String, by username: String, now: Date = Date()) throws -> Room {
        do {
            return try database.write { db in
                try db.execute(sql: "INSERT INTO room (name, name_key, created_by, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [name, name.lowercased(), username, now])
                return Room(id: db.lastInsertedRowID, name: name, createdBy: username, createdAt: now)
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw ChatStoreError.roomNameTaken
        }
    }

    /// The last `pageSize` messages, oldest first (by time, then id).
    public func lastMessages(roomID: Int64) throws -> [Message] {
        try database.read { db in
            try Message.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM (
                    SELECT id, room_id, author, text, bot, created_at FROM message WHERE room_id = ?
                    ORDER BY created_at DESC, id DESC LIMIT ?)
                ORDER BY created_at, id
                """), arguments: [roomID, Self.pageSize])
        }
    }

    /// Up to `pageSize` messages newer than `afterID`, oldest first.
    public func messages(roomID: Int64, after afterID: Int64) throws -> [Message] {
        try database.read { db in
            try Message.fetchAll(db.cachedStatement(sql: """
                SELECT id, room_id, author, text, bot, created_at FROM message WHERE room_id = ? AND id > ?
                ORDER BY created_at, id LIMIT ?
                """), arguments: [roomID, afterID, Self.pageSize])
        }
    }

    public func post(roomID: Int64, author: String, text: String, now: Date = Date()) throws -> Message {
        try database.write { db in try Self.insert(db, roomID: roomID, author: author, text: text, bot: false, jobID: nil, now: now) }
    }

    /// A command: queued for the bot in one transaction, never stored as a message.
    public func enqueueCommand(roomID: Int64, userID: Int64, username: String, command: String) throws -> Job {
        try database.write { try JobQueue.enqueue($0, roomID: roomID, userID: userID, username: username, command: command) }
    }

    /// Posts a job's reply as the bot, in one transaction with marking it delivered, so that a
    /// reply is posted exactly once however often delivery is tried. `nil` if it was already.
    public func deliver(_ job: Job, now: Date = Date()) throws -> Message? {
        try database.write { db in
            guard let id = job.id, let reply = job.reply, try JobQueue.markDelivered(db, jobID: id, now: now) else { return nil }
            // A reply to a room deleted meanwhile is marked delivered and dropped.
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM room WHERE id = ?", arguments: [job.roomID]) != nil else { return nil }
            return try Self.insert(db, roomID: job.roomID, author: Self.botName, text: reply, bot: true, jobID: id, now: now)
        }
    }

    private static func insert(_ db: Database, roomID: Int64, author: String, text: String, bot: Bool, jobID: Int64?,
                               now: Date) throws -> Message {
        let time = now.toTheMillisecond
        try db.cachedStatement(sql: "INSERT INTO message (room_id, author, text, bot, job_id, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [roomID, author, text, bot, jobID, time])
        return Message(id: db.lastInsertedRowID, roomID: roomID, author: author, text: text, bot: bot, createdAt: time)
    }
}
