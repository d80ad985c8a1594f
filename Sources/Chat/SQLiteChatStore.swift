import Foundation
import GRDB
import JobQueue
import Storage

/// Rooms and messages in the SQLite file. SQLite writes one transaction at a time, so the id it
/// assigns inside a post's transaction is commit order by itself. What every long-poll and post
/// runs is prepared once per connection (`cachedStatement`): preparing costs more than running it.
public struct SQLiteChatStore: ChatStore {
    let database: DatabasePool
    /// What "now" is: read once per message, inside its write transaction. Tests step it back.
    let clock: @Sendable () -> Date

    public init(database: DatabasePool, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.clock = clock
    }

    public func rooms(after: Int64, limit: Int) throws -> [Room] {
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

    public func createRoom(name: String, by username: String) throws -> Room {
        do {
            return try database.write { db in
                let now = clock().toTheMillisecond
                try db.execute(sql: "INSERT INTO room (name, name_key, created_by, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [name, name.lowercased(), username, now])
                return Room(id: db.lastInsertedRowID, name: name, createdBy: username, createdAt: now)
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw ChatStoreError.roomNameTaken
        }
    }

    /// What every message read selects, in the order `Message(row:)` reads them.
    public static let messageColumns = "id, room_id, author, text, bot, created_at"
    /// The last `pageSize` messages in commit order (by id), oldest first: an index search from the
    /// room's end, whatever the room's size.
    public static let lastMessagesSQL = """
        SELECT * FROM (
            SELECT \(messageColumns) FROM message WHERE room_id = ?
            ORDER BY id DESC LIMIT ?)
        ORDER BY id
        """
    /// Up to `pageSize` messages committed after `id` (a message id the client has seen), in commit
    /// order: an index search that starts at the cursor, so the tail read costs the same in a room of
    /// any size.
    public static let messagesAfterSQL = """
        SELECT \(messageColumns) FROM message WHERE room_id = ? AND id > ?
        ORDER BY id LIMIT ?
        """

    public func lastMessages(roomID: Int64) throws -> [Message] {
        try database.read { db in
            try Message.fetchAll(db.cachedStatement(sql: Self.lastMessagesSQL), arguments: [roomID, Message.pageSize])
        }
    }

    public func messages(roomID: Int64, after afterID: Int64) throws -> [Message] {
        try database.read { db in
            try Message.fetchAll(db.cachedStatement(sql: Self.messagesAfterSQL), arguments: [roomID, afterID, Message.pageSize])
        }
    }

    public func post(_ batch: [NewPost]) throws -> [Posted] {
        guard !batch.isEmpty else { return [] }
        return try database.write { db in
            var previous = PreviousTimes()
            return try batch.map { post in
                switch post {
                case .message(let roomID, let author, let text):
                    .message(try insert(db, roomID: roomID, author: author, text: text, bot: false, jobID: nil, previous: &previous))
                case .command(let roomID, let userID, let username, let command):
                    .job(try SQLiteJobQueue.enqueue(db, roomID: roomID, userID: userID, username: username, command: command))
                }
            }
        }
    }

    /// The replies follow the rule of every message: their ids and timestamps are taken in this transaction.
    public func deliver(_ jobs: [Job]) throws -> [Message] {
        guard !jobs.isEmpty else { return [] }
        return try database.write { db in
            let now = clock()
            var previous = PreviousTimes()
            var posted: [Message] = []
            for job in jobs {
                guard let id = job.id, let reply = job.reply, try SQLiteJobQueue.markDelivered(db, jobID: id, now: now) else { continue }
                guard try Int.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM room WHERE id = ?"), arguments: [job.roomID]) != nil else { continue }
                posted.append(try insert(db, roomID: job.roomID, author: Message.botAuthor, text: reply, bot: true, jobID: id,
                                         previous: &previous))
            }
            return posted
        }
    }

    /// The timestamp of the last message of each room written in this transaction, so that a group
    /// reads each room's previous message once.
    private typealias PreviousTimes = [Int64: Date]

    /// Inside the caller's write transaction: the time is read now, under the write lock, and is never
    /// earlier than the room's previous message's (the one with the largest id: read from the table
    /// the first time a transaction writes to the room, then kept in `previous`).
    private func insert(_ db: Database, roomID: Int64, author: String, text: String, bot: Bool, jobID: Int64?,
                        previous: inout PreviousTimes) throws -> Message {
        if previous[roomID] == nil {
            previous[roomID] = try Date.fetchOne(
                db.cachedStatement(sql: "SELECT created_at FROM message WHERE room_id = ? ORDER BY id DESC LIMIT 1"), arguments: [roomID])
                ?? .distantPast
        }
        let time = max(clock().toTheMillisecond, previous[roomID] ?? .distantPast)
        previous[roomID] = time
        try db.cachedStatement(sql: "INSERT INTO message (room_id, author, text, bot, job_id, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [roomID, author, text, bot, jobID, time])
        return Message(id: db.lastInsertedRowID, roomID: roomID, author: author, text: text, bot: bot, createdAt: time)
    }
}

extension Room: FetchableRecord {}

extension Message: FetchableRecord {
    /// Every message read selects `id, room_id, author, text, bot, created_at`, in this order
    /// (`SQLiteChatStore.messageColumns`): read by position, which costs a fifth of decoding by name
    /// through `Decodable` (profiled on the last-50 read). A value that cannot be read throws,
    /// naming the column, where the subscript `row[i]` would stop the process.
    public init(row: Row) throws {
        self.init(id: try row.decode(atIndex: 0), roomID: try row.decode(atIndex: 1), author: try row.decode(atIndex: 2),
                  text: try row.decode(atIndex: 3), bot: try row.decode(atIndex: 4), createdAt: try row.decode(atIndex: 5))
    }
}
