import Foundation
import JobQueue
import Postgres
import Storage

/// Rooms and messages in PostgreSQL, where several connections (request threads, responders)
/// write at once.
///
/// **Commit order is id order: a lock per room.** An identity hands out ids in the order
/// transactions ask for them, not in the order they commit: if a transaction took id 11 and another
/// id 12 and the second committed first, a reader could see 12, page on with `after=12`, and
/// never see 11. So every transaction that writes messages first locks the row of each room it
/// writes to (`SELECT … FROM room … FOR UPDATE`, rooms in ascending id order so that two
/// transactions over several rooms cannot deadlock), and only then takes ids: transactions that
/// write to one room take turns, each holding the lock until its commit, so a room's ids grow in
/// commit order and `after=` never skips. Rooms apart write in parallel. (The alternatives cost
/// more: a `SERIALIZABLE` transaction fails and must be retried under this very contention, and a
/// sequence per room, or a table lock, serialises more than one room.)
///
/// The timestamp is read after the lock, in the statement that inserts, and raised to the room's
/// previous message's, as in SQLite: timestamps never go backwards in a room.
///
/// A post of a group (`post(_:)`) is `BEGIN`, the lock, one `INSERT` of all its messages, one of
/// all its commands (which notifies the bots), `COMMIT`: the same few round trips for one post or
/// two hundred.
public struct PostgresChatStore: ChatStore {
    let database: PostgresDatabase
    /// What "now" is: read for each message after its room's lock. Tests step it back.
    let clock: @Sendable () -> Date

    public init(database: PostgresDatabase, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.clock = clock
    }

    public func rooms(after: Int64, limit: Int) throws -> [Room] {
        try database.withConnection { connection in
            try connection.query("SELECT id, name, created_by, created_at FROM room WHERE id > $1 ORDER BY id LIMIT $2", [after, limit])
                .rows.map(Room.init(row:))
        }
    }

    public func room(id: Int64) throws -> Room? {
        try database.withConnection { connection in
            try connection.query("SELECT id, name, created_by, created_at FROM room WHERE id = $1", [id]).rows.first.map(Room.init(row:))
        }
    }

    public func createRoom(name: String, by username: String) throws -> Room {
        let now = clock().toTheMillisecond
        do {
            return try database.withConnection { connection in
                let id = try connection.query("""
                    INSERT INTO room (name, name_key, created_by, created_at) VALUES ($1, $2, $3, $4::timestamptz) RETURNING id
                    """, [name, name.lowercased(), username, now]).scalar(Int64.self)
                guard let id else { throw PostgresError(.decoding, message: "an INSERT into room returned no row") }
                return Room(id: id, name: name, createdBy: username, createdAt: now)
            }
        } catch let error as PostgresError where error.isUniqueViolation {
            throw ChatStoreError.roomNameTaken
        }
    }

    /// What every message read selects, in the order `Message(row:)` reads them.
    static let messageColumns = "id, room_id, author, text, bot, created_at"

    public func lastMessages(roomID: Int64) throws -> [Message] {
        try database.withConnection { connection in
            try connection.query("""
                SELECT * FROM (
                    SELECT \(Self.messageColumns) FROM message WHERE room_id = $1
                    ORDER BY id DESC LIMIT $2) AS last
                ORDER BY id
                """, [roomID, Message.pageSize]).rows.map(Message.init(row:))
        }
    }

    public func messages(roomID: Int64, after afterID: Int64) throws -> [Message] {
        try database.withConnection { connection in
            try connection.query("""
                SELECT \(Self.messageColumns) FROM message WHERE room_id = $1 AND id > $2
                ORDER BY id LIMIT $3
                """, [roomID, afterID, Message.pageSize]).rows.map(Message.init(row:))
        }
    }

    public func post(_ batch: [NewPost]) throws -> [Posted] {
        guard !batch.isEmpty else { return [] }
        var messages: [NewMessage] = []
        var commands: [PostgresJobQueue.Command] = []
        for post in batch {
            switch post {
            case .message(let roomID, let author, let text):
                messages.append(NewMessage(roomID: roomID, author: author, text: text, jobID: nil))
            case .command(let roomID, let userID, let username, let command):
                commands.append((roomID, userID, username, command))
            }
        }
        return try database.transaction { connection in
            try lockRooms(connection, Set(messages.map(\.roomID)))
            var posted = try insert(connection, messages, bot: false).makeIterator()
            var queued = try PostgresJobQueue.enqueue(connection, commands).makeIterator()
            return try batch.map { post in
                let next: Posted? = switch post {
                case .message: posted.next().map(Posted.message)
                case .command: queued.next().map(Posted.job)
                }
                guard let next else { throw PostgresError(.decoding, message: "an INSERT returned fewer rows than it was given") }
                return next
            }
        }
    }

    /// The replies follow the rule of every message: their rooms are locked, then their ids and
    /// timestamps taken. Rooms are locked before the jobs are marked, as a post locks them before it
    /// queues jobs.
    public func deliver(_ jobs: [Job]) throws -> [Message] {
        var seen = Set<Int64>()
        let replies = jobs.filter { job in job.reply != nil && job.id.map { seen.insert($0).inserted } == true }
        guard !replies.isEmpty else { return [] }
        return try database.transaction { connection in
            let rooms = try lockRooms(connection, Set(replies.map(\.roomID)))
            let delivered = try PostgresJobQueue.markDelivered(connection, jobIDs: replies.map { $0.id! }, now: clock())
            // A job whose room was deleted meanwhile is marked delivered, and has no message.
            let posting = replies.filter { delivered.contains($0.id!) && rooms.contains($0.roomID) }
            return try insert(connection, posting.map {
                NewMessage(roomID: $0.roomID, author: Message.botAuthor, text: $0.reply!, jobID: $0.id)
            }, bot: true)
        }
    }

    private struct NewMessage {
        let roomID: Int64
        let author: String
        let text: String
        let jobID: Int64?
    }

    /// Locks the rows of `rooms` until the transaction ends, in ascending id order (a
    /// `LockRows` above the sort locks in the order rows come out); returns the rooms that exist.
    @discardableResult
    private func lockRooms(_ connection: PostgresConnection, _ rooms: Set<Int64>) throws -> Set<Int64> {
        guard !rooms.isEmpty else { return [] }
        return Set(try connection.query("SELECT id FROM room WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                                        [rooms.sorted()]).rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Inserts `messages` (all the bot's, or none) in one statement, in their order, into rooms
    /// this transaction has locked. The statement starts after the lock, so it sees every message
    /// committed before, and raises each timestamp to the largest of the clock's readings for the
    /// room's messages up to it in the group and the room's last stored message's: the time never
    /// goes backwards in a room.
    private func insert(_ connection: PostgresConnection, _ messages: [NewMessage], bot: Bool) throws -> [Message] {
        guard !messages.isEmpty else { return [] }
        let times = messages.map { _ in clock().toTheMillisecond }
        // Only replies have jobs: `unnest` makes a shorter array's missing elements NULL. Rows are
        // inserted, and returned, in the order of `n`: each takes the next id.
        let rows = try connection.query("""
            INSERT INTO message (room_id, author, text, bot, job_id, created_at)
            SELECT p.room_id, p.author, p.text, $5::boolean, p.job_id,
                   GREATEST(max(p.at) OVER (PARTITION BY p.room_id ORDER BY p.n),
                            (SELECT m.created_at FROM message m WHERE m.room_id = p.room_id ORDER BY m.id DESC LIMIT 1))
            FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $6::bigint[]) WITH ORDINALITY
                AS p(room_id, author, text, at, job_id, n)
            ORDER BY p.n
            RETURNING id, created_at
            """, [messages.map(\.roomID), messages.map(\.author), messages.map(\.text), times, bot,
                  bot ? messages.map(\.jobID) : []]).rows
        guard rows.count == messages.count else {
            throw PostgresError(.decoding, message: "an INSERT of \(messages.count) messages returned \(rows.count) rows")
        }
        return try zip(messages, rows).map { message, row in
            Message(id: try row.decode(0), roomID: message.roomID, author: message.author, text: message.text, bot: bot,
                    createdAt: try row.decode(1))
        }
    }
}

extension Room {
    /// A row of `id, name, created_by, created_at`.
    init(row: PostgresRow) throws {
        self.init(id: try row.decode(0), name: try row.decode(1), createdBy: try row.decode(2), createdAt: try row.decode(3))
    }
}

extension Message {
    /// A row of `PostgresChatStore.messageColumns`, read by position.
    init(row: PostgresRow) throws {
        self.init(id: try row.decode(0), roomID: try row.decode(1), author: try row.decode(2), text: try row.decode(3),
                  bot: try row.decode(4), createdAt: try row.decode(5))
    }
}
