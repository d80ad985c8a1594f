import Chat
import Foundation
import GRDB
import JobQueue
import Storage
import Testing

struct ChatStoreTests {
    @Test func aReplyIsPostedOnceHoweverOftenDeliveryIsTried() throws {
        let directory = NSTemporaryDirectory() + "chat-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try DatabaseFile.open(path: directory + "/db.sqlite")
        try DatabaseFile.migrate(database, JobQueueSchema.migrations + ChatSchema.migrations)
        let store = ChatStore(database: database)
        let jobs = JobQueue(database: database)
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
