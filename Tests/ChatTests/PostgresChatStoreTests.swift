import Chat
import Foundation
import JobQueue
import Logging
import Postgres
import Storage
import TestSupport
import Testing

/// What only PostgreSQL can get wrong: several connections write to one room at once.
struct PostgresChatStoreTests {
    /// Four posters, each with a store and connections of its own (as four responders), post into
    /// two rooms at once, in groups that span both rooms in either order, while a reader pages
    /// room 1 with `after=` as a client does. Ids are taken from one identity: without a lock per
    /// room, a post could commit a larger id before a smaller one is committed, and the reader,
    /// paging past it, would never see the smaller. With it, the reader sees every message once,
    /// in order; and the groups over two rooms never deadlock.
    @Test func aReaderPagingWhileFourConnectionsPostSeesEveryMessageOnceInOrder() throws {
        let fixture = try ChatOrderTests.Fixture(.postgres)
        defer { fixture.remove() }
        let url = try postgresURL(in: fixture.directory)
        let general: Int64 = 1
        let other = try fixture.stores().chat.createRoom(name: "other", by: "alice").id
        let posters = 4, groups = 150
        let stores = try (0...posters).map { _ in PostgresChatStore(database: try PostgresDatabase(url: url)) }
        let failures = Guarded<[String]>([])
        let finished = Guarded(0)
        let seen = Guarded<[Int64]>([])
        onThreads(posters + 1) { worker in
            do {
                if worker == posters {
                    // The reader: pages room 1 until every poster has finished and a page is empty.
                    var cursor: Int64 = 0
                    while true {
                        let done = finished.withLock { $0 } == posters
                        let page = try stores[worker].messages(roomID: general, after: cursor)
                        seen.withLock { $0 += page.map(\.id) }
                        cursor = page.last?.id ?? cursor
                        if done && page.isEmpty { break }
                    }
                } else {
                    for index in 1...groups {
                        let rooms = (index + worker).isMultiple(of: 2) ? [general, other] : [other, general]
                        _ = try stores[worker].post(rooms.map { .message(roomID: $0, author: "poster\(worker)", text: "\(worker):\(index)") })
                    }
                }
            } catch {
                failures.withLock { $0.append("\(worker): \(error)") }
            }
            if worker < posters { finished.withLock { $0 += 1 } }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let all = try ChatOrderTests.pageFromStart(stores[0], roomID: general).messages
        ChatOrderTests.expectOneOrder(all, count: posters * groups)
        let read = seen.withLock { $0 }
        #expect(read.count == all.count, "the reader saw \(read.count) of \(all.count)")
        #expect(read == all.map(\.id), "the reader saw every message once, in order")
        ChatOrderTests.expectOneOrder(try ChatOrderTests.pageFromStart(stores[0], roomID: other).messages, count: posters * groups)
    }
}

/// A server that restarts (a cluster of the test's own) loses nothing that was committed, and
/// the stores and the watch reconnect by themselves.
struct PostgresRestartTests {
    @Test func afterARestartEverythingCommittedIsThereAndTheStoresAndTheWatchCarryOn() throws {
        let server = PostgresServer()
        defer { server.remove() }
        let url = try server.createDatabase()
        try PostgresDatabase(url: url).migrate(JobQueueSchema.postgresMigrations + ChatSchema.postgresMigrations)
        let database = try PostgresDatabase(url: url)
        let store = PostgresChatStore(database: database)
        let jobs = PostgresJobQueue(database: database)
        let woken = DispatchSemaphore(value: 0)
        let watch = try jobs.changes(of: .newJobs) { woken.signal() }
        defer { watch.stop() }
        let posted = try store.post([.message(roomID: 1, author: "alice", text: "before"),
                                     .command(roomID: 1, userID: 1, username: "alice", command: "/stock=aapl.us")])
        #expect(eventually(timeout: .seconds(30)) { watch.wakesByItself })

        try server.restart()
        // The pool's idle connections died with the server: the next calls open new ones.
        #expect(try store.lastMessages(roomID: 1).map(\.text) == ["before"])
        let queued = try #require(try jobs.claim(owner: "bot", lease: 30))
        guard case .job(let job) = posted[1] else { Issue.record("\(posted)"); return }
        #expect(queued.id == job.id)
        _ = try store.post(roomID: 1, author: "bob", text: "after")
        #expect(try store.lastMessages(roomID: 1).map(\.text) == ["before", "after"])
        #expect(eventually(timeout: .seconds(30)) { watch.wakesByItself }, "listening again")
        _ = watch.changed()
        let next = try jobs.enqueue(roomID: 1, userID: 1, username: "bob", command: "/stock=msft.us")
        #expect(awaitChange(watch, woken), "a notification after the restart")
        #expect(try jobs.claim(owner: "bot", lease: 30)?.id == next.id)
    }
}

/// Waits for wake-ups until the watch says "changed" (a wake-up may be older than the change
/// looked for); `false` if none comes in 30 s.
func awaitChange(_ watch: any ChangeWatch, _ woken: DispatchSemaphore) -> Bool {
    let deadline = DispatchTime.now() + 30
    while woken.wait(timeout: deadline) == .success {
        if watch.changed() { return true }
    }
    return false
}

/// The responder's delivery of the bot's replies on PostgreSQL: it listens for replies, and a
/// notification, not its poll interval, brings each one to the room.
struct PostgresReplyDeliveryTests {
    /// The queue, with the watches asked of it and whether the replies were read while a watch listened.
    final class WatchedQueue: JobQueue {
        let queue: any JobQueue
        private let state = Guarded((kinds: [JobQueueChange](), watches: [any ChangeWatch](), lookedWhileListening: false))

        init(_ queue: any JobQueue) { self.queue = queue }

        var kinds: [JobQueueChange] { state.withLock { $0.kinds } }
        var listening: Bool { state.withLock { !$0.watches.isEmpty && $0.watches.allSatisfy(\.wakesByItself) } }
        var lookedWhileListening: Bool { state.withLock { $0.lookedWhileListening } }

        func changes(of kind: JobQueueChange, wake: @escaping @Sendable () -> Void) throws -> any ChangeWatch {
            let watch = try queue.changes(of: kind, wake: wake)
            state.withLock { $0.kinds.append(kind); $0.watches.append(watch) }
            return watch
        }

        func undeliveredReplies(limit: Int) throws -> [Job] {
            if listening { state.withLock { $0.lookedWhileListening = true } }
            return try queue.undeliveredReplies(limit: limit)
        }

        func enqueue(roomID: Int64, userID: Int64?, username: String, command: String, now: Date) throws -> Job {
            try queue.enqueue(roomID: roomID, userID: userID, username: username, command: command, now: now)
        }
        func markDelivered(jobID: Int64, now: Date) throws -> Bool { try queue.markDelivered(jobID: jobID, now: now) }
        func claim(owner: String, lease: TimeInterval, limit: Int, now: Date) throws -> [Job] {
            try queue.claim(owner: owner, lease: lease, limit: limit, now: now)
        }
        func renew(jobIDs: [Int64], owner: String, lease: TimeInterval, now: Date) throws -> Set<Int64> {
            try queue.renew(jobIDs: jobIDs, owner: owner, lease: lease, now: now)
        }
        func answer(_ outcomes: [JobOutcome], owner: String, now: Date) throws -> Set<Int64> {
            try queue.answer(outcomes, owner: owner, now: now)
        }
        func answer(_ outcomes: [JobOutcome], owner: String, now: Date, thenClaim limit: Int,
                    lease: TimeInterval) throws -> (recorded: Set<Int64>, claimed: [Job]) {
            try queue.answer(outcomes, owner: owner, now: now, thenClaim: limit, lease: lease)
        }
        func release(jobID: Int64, owner: String) throws -> Bool { try queue.release(jobID: jobID, owner: owner) }
        func job(id: Int64) throws -> Job? { try queue.job(id: id) }
        func isInstalled() throws -> Bool { try queue.isInstalled() }
    }

    /// With a poll interval of ten minutes, the reply is in the room as soon as the bot's answer
    /// commits: the delivery woke for its notification (while listening, it reads the table only
    /// when a notification came).
    @Test func aBotsReplyReachesItsRoomByNotification() throws {
        let fixture = try ChatOrderTests.Fixture(.postgres)
        defer { fixture.remove() }
        let (store, jobs) = try fixture.stores()
        let queue = WatchedQueue(jobs)
        var configuration = ChatConfiguration()
        configuration.replyPollInterval = .seconds(600)
        let chat = try ChatService(store: store, queue: queue, configuration: configuration, logger: Logger(label: "test"))
        chat.start()
        defer { chat.shutdown() }
        #expect(queue.kinds == [.replies])
        #expect(eventually(timeout: .seconds(30)) { queue.lookedWhileListening }, "listening, and the replies read once since")

        let job = try store.enqueueCommand(roomID: 1, userID: 1, username: "alice", command: "/stock=aapl.us")
        let bot = try fixture.stores().jobs
        _ = try bot.claim(owner: "bot", lease: 30)
        #expect(try bot.answer(jobID: job.id!, owner: "bot", reply: "AAPL.US quote is $93.42 per share"))
        #expect(try eventually(timeout: .seconds(30)) { try store.lastMessages(roomID: 1).map(\.text) == ["AAPL.US quote is $93.42 per share"] })
        #expect(try jobs.job(id: job.id!)?.status == .delivered)
    }
}
