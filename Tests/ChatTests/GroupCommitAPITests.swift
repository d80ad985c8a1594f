import Foundation
import GRDB
import Postgres
import Testing
import TestSupport

/// Posts that arrive together share one commit, through nginx and the real responder. The test
/// stalls the responder's commits from a connection of its own (as the bot's process can, for a
/// moment), so that posts are held queued behind a commit that waits, and then lets go.
@Suite(.serialized)
struct GroupCommitAPITests {
    typealias Chat = ChatAPITests.Chat

    /// What makes a commit of a message wait, held by a connection of the test's own from `init`
    /// until `release` (well within the responder's 5 s busy timeout on SQLite; PostgreSQL waits
    /// for a lock as long as it takes). On SQLite, the file's write lock, held on a thread of its
    /// own. On PostgreSQL, a lock on the message table in an open transaction that lets readers
    /// through and no writer: the long-polls and message lists still answer.
    final class WriteLock: @unchecked Sendable {
        private let taken = DispatchSemaphore(value: 0)
        private let letGo = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)
        private let postgres: PostgresConnection?

        init(_ stack: ResponderStack) throws {
            if let url = stack.databaseOptions(as: .owner).environment["DATABASE_URL"] {
                let connection = try PostgresConnection(url: url)
                try connection.execute("BEGIN; LOCK TABLE message IN EXCLUSIVE MODE")
                postgres = connection
                return
            }
            postgres = nil
            let database = try DatabaseQueue(path: stack.databasePath)
            let failure = Guarded<(any Error)?>(nil)
            Thread { [taken, letGo, done] in
                do {
                    try database.writeWithoutTransaction { db in
                        try db.execute(sql: "BEGIN IMMEDIATE")
                        taken.signal()
                        letGo.wait()
                        try db.execute(sql: "ROLLBACK")
                    }
                } catch {
                    failure.withLock { $0 = error }
                    taken.signal()
                }
                done.signal()
            }.start()
            taken.wait()
            if let error = failure.withLock({ $0 }) { throw error }
        }

        func release() throws {
            if let postgres {
                try postgres.execute("ROLLBACK")
                return
            }
            letGo.signal()
            done.wait()
        }
    }

    static func held(_ chat: Chat) throws -> Int { try chat.stack.request("GET", "/api/health").json()["held_requests"] as? Int ?? -1 }

    static func body(_ text: String) throws -> [UInt8] { Array(try JSONSerialization.data(withJSONObject: ["text": text])) }

    /// Twenty posters at once, queued behind one commit: each gets its 201 with the body it always
    /// had, the ids are distinct and in commit order, and a long-poll reader paging with `after=`
    /// gets every one exactly once, with no gap.
    @Test func postsQueuedTogetherAreAnsweredWithDistinctIdsAndReadWithoutGaps() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        // Both users' credentials are used once before the lock (a first use is written down).
        _ = try chat.messages(as: chat.bob)
        let start = try #require(try chat.post("start", as: chat.alice).json()["id"] as? Int)
        let lock = try WriteLock(chat.stack)
        let texts = (1...20).map { "together \($0)" }
        let posters = try texts.enumerated().map { index, text in
            try chat.stack.open("POST", "/api/rooms/1/messages", headers: index % 2 == 0 ? chat.alice : chat.bob, body: Self.body(text))
        }
        let reader = try chat.longPoll(after: start, as: chat.alice)
        #expect(try eventually { try Self.held(chat) == 21 }, "twenty posts and a long-poll held")
        try lock.release()

        var ids: [Int: String] = [:]
        for (index, poster) in posters.enumerated() {
            let answer = try poster.readResult()
            #expect(answer.status == 201, "\(answer)")
            let message = try answer.json()
            #expect(Set(message.keys) == ["id", "room", "author", "text", "created_at", "bot"], "\(message)")
            #expect(message["text"] as? String == texts[index])
            #expect(message["author"] as? String == (index % 2 == 0 ? "alice" : "bob"))
            #expect(message["room"] as? Int == 1 && message["bot"] as? Bool == false)
            if let id = message["id"] as? Int { ids[id] = texts[index] }
        }
        #expect(ids.count == 20, "distinct ids")
        let woken = try #require(try JSONSerialization.jsonObject(with: Data(reader.readResult().body)) as? [[String: Any]])
        #expect(!woken.isEmpty, "the long-poll is answered with what was committed")
        let cursor = woken.last?["id"] as? Int ?? start
        let read = woken + (try ChatAPITests.pageForward(chat, from: cursor).messages)
        let readIDs = read.compactMap { $0["id"] as? Int }
        #expect(readIDs == ids.keys.sorted(), "every message once, in id order, from the long-poll's cursor on")
        #expect(read.compactMap { $0["text"] as? String } == ids.keys.sorted().map { ids[$0]! }, "each id is its poster's message")
        let times = read.compactMap { $0["created_at"] as? String }
        #expect(times == times.sorted(), "timestamps never go backwards in commit order")
    }

    /// A poster that leaves while its post is queued: the post is committed once (nobody hears
    /// it), and the committer goes on.
    @Test func aPosterThatLeavesWhileItsPostIsQueuedHasItPostedExactlyOnce() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let lock = try WriteLock(chat.stack)
        let leaving = try chat.stack.open("POST", "/api/rooms/1/messages", headers: chat.alice, body: Self.body("left early"))
        #expect(try eventually { try Self.held(chat) == 1 })
        leaving.close()
        #expect(try eventually { try Self.held(chat) == 0 }, "the responder noticed the client leave")
        try lock.release()

        #expect(try chat.post("stayed", as: chat.bob).status == 201)
        #expect(try chat.messages(as: chat.bob).compactMap { $0["text"] as? String } == ["left early", "stayed"])
    }

    /// SIGTERM while posts are queued: the drain commits them and answers each 201, and the
    /// responder exits 0; the messages are stored.
    @Test func aShutdownWithQueuedPostsCommitsAndAnswersThem() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let lock = try WriteLock(chat.stack)
        let texts = (1...5).map { "queued \($0)" }
        let posters = try texts.map { try chat.stack.open("POST", "/api/rooms/1/messages", headers: chat.alice, body: Self.body($0)) }
        #expect(try eventually { try Self.held(chat) == 5 })
        chat.stack.responder.signal(SIGTERM)
        #expect(eventually { chat.stack.responder.output.contains("shutting down") }, "\(chat.stack.responder.output)")
        try lock.release()

        for (poster, text) in zip(posters, texts) {
            let answer = try poster.readResult()
            #expect(answer.status == 201, "\(answer)")
            #expect(try answer.json()["text"] as? String == text)
        }
        #expect(chat.stack.responder.wait(timeout: .seconds(20)) == 0, "\(chat.stack.responder.output)")
        let stored = try chat.stack.rows("SELECT text FROM message ORDER BY id").map { $0[0] }
        #expect(stored.sorted() == texts, "each once (in the order they reached the responder)")
    }
}
