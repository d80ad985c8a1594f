import Chat
import Foundation
import GRDB
import JobQueue
import Storage
import TestSupport
import Testing

struct ChatStoreTests {
    @Test(arguments: TestBackend.all) func aReplyIsPostedOnceHoweverOftenDeliveryIsTried(_ backend: TestBackend) throws {
        let directory = NSTemporaryDirectory() + "chat-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, jobs) = try makeStores(backend, in: directory)
        let job = try store.enqueueCommand(roomID: 1, userID: 1, username: "alice", command: "/stock=aapl.us")
        _ = try jobs.claim(owner: "bot", lease: 10)
        try jobs.answer(jobID: job.id!, owner: "bot", reply: "AAPL.US quote is $93.42 per share")
        let answered = try #require(try jobs.job(id: job.id!))

        let first = try store.deliver(answered)
        let second = try store.deliver(answered)
        #expect(first?.author == "stockbot")
        #expect(first?.bot == true)
        #expect(second == nil)
        #expect(try store.lastMessages(roomID: 1).count == 1)
    }
}

/// A room's order is commit order: id order, with timestamps that never go backwards in it.
struct ChatOrderTests {
    /// A clock a test can step: it starts at `start` and moves on by a millisecond at every reading,
    /// unless stepped back or forward.
    final class SteppedClock: Sendable {
        private let time: Guarded<Date>
        init(_ start: Date) { time = Guarded(start) }
        func now() -> Date { time.withLock { $0 += 0.001; return $0 } }
        func step(by seconds: TimeInterval) { time.withLock { $0 += seconds } }
    }

    struct Fixture {
        let backend: TestBackend
        let directory: String

        init(_ backend: TestBackend) throws {
            self.backend = backend
            directory = NSTemporaryDirectory() + "chat-order-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        func stores(clock: @escaping @Sendable () -> Date = { Date() }) throws -> (chat: any ChatStore, jobs: any JobQueue) {
            try makeStores(backend, in: directory, clock: clock)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Pages from `after=0` in pages of at most 50, as a client does, until a page is short.
    static func pageFromStart(_ store: any ChatStore, roomID: Int64 = 1) throws -> (messages: [Message], pages: [Int]) {
        var seen: [Message] = []
        var pages: [Int] = []
        while true {
            let page = try store.messages(roomID: roomID, after: seen.last?.id ?? 0)
            pages.append(page.count)
            seen += page
            if page.count < Message.pageSize { return (seen, pages) }
        }
    }

    /// Every message exactly once, in id order, timestamps non-decreasing.
    static func expectOneOrder(_ messages: [Message], count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let ids = messages.map(\.id)
        #expect(messages.count == count, "every message once", sourceLocation: sourceLocation)
        #expect(Set(ids).count == ids.count, "no message twice", sourceLocation: sourceLocation)
        #expect(ids == ids.sorted(), "id order", sourceLocation: sourceLocation)
        let times = messages.map(\.createdAt)
        #expect(times == times.sorted(), "timestamps never go backwards", sourceLocation: sourceLocation)
    }

    @Test(arguments: TestBackend.all) func pagingAcrossMoreThan50NewMessagesGetsThemAll(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let store = try fixture.stores().chat
        let before = try store.post(roomID: 1, author: "alice", text: "before")
        for index in 1...120 { _ = try store.post(roomID: 1, author: "bob", text: "m\(index)") }

        var seen: [Message] = []
        var pages: [Int] = []
        while true {
            let page = try store.messages(roomID: 1, after: seen.last?.id ?? before.id)
            pages.append(page.count)
            seen += page
            if page.count < Message.pageSize { break }
        }
        #expect(pages == [50, 50, 20])
        #expect(seen.map(\.text) == (1...120).map { "m\($0)" })
        Self.expectOneOrder(seen, count: 120)
        #expect(try store.lastMessages(roomID: 1).map(\.text) == (71...120).map { "m\($0)" })
    }

    /// The reproduction: 120 messages, the clock stepped back one minute after the 60th. Paging by
    /// the largest id seen skipped 60 of them when pages were ordered by time.
    @Test(arguments: TestBackend.all) func aClockSteppedBackChangesNeitherTheOrderNorThePaging(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let clock = SteppedClock(Date(timeIntervalSince1970: 1_800_000_000))
        let (store, jobs) = try fixture.stores(clock: clock.now)
        var posted: [Message] = []
        for index in 1...60 { posted.append(try store.post(roomID: 1, author: "alice", text: "m\(index)")) }
        clock.step(by: -60)
        for index in 61...119 { posted.append(try store.post(roomID: 1, author: "bob", text: "m\(index)")) }
        // The bot's reply, delivered after the step, follows the same rule.
        let job = try store.enqueueCommand(roomID: 1, userID: 1, username: "alice", command: "/stock=aapl.us")
        _ = try jobs.claim(owner: "bot", lease: 10)
        _ = try jobs.answer(jobID: job.id!, owner: "bot", reply: "AAPL.US quote is $93.42 per share")
        let answered = try #require(try jobs.job(id: job.id!))
        posted.append(try #require(try store.deliver(answered)))

        #expect(posted.last?.bot == true)
        // A client that saw the first message pages forward and gets the other 119.
        var seen = [posted[0]]
        while true {
            let page = try store.messages(roomID: 1, after: seen.last!.id)
            seen += page
            if page.count < Message.pageSize { break }
        }
        #expect(seen.map(\.id) == posted.map(\.id))
        Self.expectOneOrder(seen, count: 120)
        #expect(seen[60].createdAt == seen[59].createdAt, "the first message after the step is raised to its predecessor's time")
        #expect(try Self.pageFromStart(store).messages.map(\.id) == posted.map(\.id))
        #expect(try store.lastMessages(roomID: 1).map(\.id) == posted.suffix(50).map(\.id), "the last 50 are the last 50 committed")
        // Stepping forward again carries on from the real time.
        clock.step(by: 120)
        let later = try store.post(roomID: 1, author: "alice", text: "later")
        #expect(later.createdAt > seen.last!.createdAt.addingTimeInterval(30))
    }

    /// Several threads post at once, through two sets of connections to one database (as two
    /// processes would), while a bot's replies are delivered: one order, every message once.
    @Test(arguments: TestBackend.all) func concurrentPostersAndRepliesGetOneOrder(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let (first, _) = try fixture.stores()
        let (second, jobs) = try fixture.stores()
        let stores = [first, second]
        let posters = 6, each = 40, replies = 20
        let failures = Guarded<[String]>([])
        onThreads(posters + 1) { worker in
            do {
                if worker == posters {
                    for index in 1...replies {
                        let job = try stores[0].enqueueCommand(roomID: 1, userID: 1, username: "alice", command: "/stock=r\(index)")
                        _ = try jobs.claim(owner: "bot", lease: 10)
                        _ = try jobs.answer(jobID: job.id!, owner: "bot", reply: "reply \(index)")
                        _ = try stores[1].deliver(try jobs.job(id: job.id!)!)
                    }
                } else {
                    for index in 1...each { _ = try stores[worker % 2].post(roomID: 1, author: "poster\(worker)", text: "\(worker):\(index)") }
                }
            } catch {
                failures.withLock { $0.append("\(worker): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let (messages, pages) = try Self.pageFromStart(stores[0])
        Self.expectOneOrder(messages, count: posters * each + replies)
        #expect(pages.count == (posters * each + replies) / 50 + 1)
        for worker in 0..<posters {
            #expect(messages.filter { $0.author == "poster\(worker)" }.map(\.text) == (1...each).map { "\(worker):\($0)" },
                    "each poster's messages in the order it posted them")
        }
        #expect(messages.filter(\.bot).map(\.text) == (1...replies).map { "reply \($0)" })
        #expect(try stores[1].lastMessages(roomID: 1) == Array(messages.suffix(50)))
    }
}

/// What only the SQLite store has: its query plans and its migrations.
struct SQLiteChatStoreTests {
    /// The tail read and the last-50 read are index searches on `(room_id, id)`: they never scan
    /// the room, and never sort it.
    @Test func theReadsSearchTheIndexAndScanNothing() throws {
        let fixture = try ChatOrderTests.Fixture(.sqlite)
        defer { fixture.remove() }
        let database = try DatabaseFile.open(path: fixture.directory + "/db.sqlite")
        try DatabaseFile.migrate(database, JobQueueSchema.migrations + ChatSchema.migrations)
        for (sql, arguments) in [(SQLiteChatStore.messagesAfterSQL, [1, 0, 50] as StatementArguments),
                                 (SQLiteChatStore.lastMessagesSQL, [1, 50] as StatementArguments)] {
            let plan = try database.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
            }
            let onMessage = plan.filter { $0.contains("message") }
            #expect(onMessage.count == 1 && onMessage[0].hasPrefix("SEARCH message USING INDEX message_room_order (room_id=?"),
                    "\(sql): \(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN message") }, "\(plan)")
            // The one sort allowed is of the 50 rows the last-50 read already picked (the outer query).
            #expect(plan.filter { $0.contains("TEMP B-TREE") }.count <= (sql == SQLiteChatStore.lastMessagesSQL ? 1 : 0), "\(plan)")
        }
    }

    /// A file made before the order rule (the index on time) migrates: the old index goes, the new
    /// one comes, every row keeps its data, and the reads serve id order.
    @Test func anExistingDatabaseMigrates() throws {
        let directory = NSTemporaryDirectory() + "chat-migrate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let old = try DatabaseFile.open(path: directory + "/db.sqlite")
        let firstChat = Array(ChatSchema.migrations.prefix { $0.identifier == "chat-v1" })
        try DatabaseFile.migrate(old, JobQueueSchema.migrations + firstChat)
        // Rows as the old code could leave them: timestamps out of id order.
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        try old.write { db in
            for (index, offset) in [0, 5, 3, -60, 10].enumerated() {
                try db.execute(sql: "INSERT INTO message (room_id, author, text, bot, created_at) VALUES (1, 'alice', ?, 0, ?)",
                               arguments: ["old \(index)", base.addingTimeInterval(TimeInterval(offset))])
            }
        }
        let before = try old.read { try Row.fetchAll($0, sql: "SELECT * FROM message ORDER BY id") }
        try old.close()

        let database = try DatabaseFile.open(path: directory + "/db.sqlite")
        #expect(try DatabaseFile.migrate(database, JobQueueSchema.migrations + ChatSchema.migrations) == ["chat-v2-message-order-by-id"])
        let indexes = try database.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message'") }
        #expect(indexes.contains("message_room_order"))
        #expect(!indexes.contains("message_room"))
        #expect(try database.read { try Row.fetchAll($0, sql: "SELECT * FROM message ORDER BY id") } == before, "rows keep their data")
        #expect(try database.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")

        let store = SQLiteChatStore(database: database, clock: { base })
        #expect(try store.lastMessages(roomID: 1).map(\.text) == (0...4).map { "old \($0)" }, "id order")
        let new = try store.post(roomID: 1, author: "bob", text: "new")
        #expect(new.createdAt == base.addingTimeInterval(10), "never earlier than the previous message")
        #expect(try ChatOrderTests.pageFromStart(store).messages.map(\.text) == (0...4).map { "old \($0)" } + ["new"])
    }
}
