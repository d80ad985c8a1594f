import Foundation
import GRDB
import JobQueue
import Locking
import Storage
import TestSupport
import Testing

/// The job queue's contract, on each backend.
struct JobQueueTests {
    /// A fresh database of one backend, in a directory of its own.
    struct Fixture {
        let backend: TestBackend
        let directory: String
        let queue: any JobQueue

        init(_ backend: TestBackend) throws {
            self.backend = backend
            directory = NSTemporaryDirectory() + "jobs-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            queue = try makeQueue(backend, in: directory)
        }

        @discardableResult
        func enqueue(_ command: String = "/stock=aapl.us") throws -> Job {
            try queue.enqueue(roomID: 1, userID: 1, username: "alice", command: command)
        }

        /// Another set of connections to the same database, as another process has.
        func otherQueue() throws -> any JobQueue { try makeQueue(backend, in: directory) }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test(arguments: TestBackend.all) func twoWorkersNeverClaimTheSameJob(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        for index in 0..<200 { try fixture.enqueue("/stock=\(index)") }
        let claimed = Locked<[String: [Int64]]>([:])
        let group = DispatchGroup()
        // One claims a job at a time, the other up to seven.
        for (worker, limit) in [("bot-a", 1), ("bot-b", 7)] {
            group.enter()
            Thread {
                while let jobs = try? queue.claim(owner: worker, lease: 30, limit: limit, now: Date()), !jobs.isEmpty {
                    claimed.withLock { $0[worker, default: []] += jobs.map { $0.id! } }
                    for job in jobs { _ = try? queue.answer(jobID: job.id!, owner: worker, reply: "done") }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let all = claimed.withLock { $0.values.flatMap { $0 } }
        #expect(all.count == 200)
        #expect(Set(all).count == 200, "no job claimed twice")
    }

    /// Three outcomes in one call (one transaction): each is refused alone when its own lease was
    /// lost, and the others are recorded.
    @Test(arguments: TestBackend.all) func aBatchAnswerRefusesEachJobWhoseLeaseWasLostAndRecordsTheRest(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        let jobs = try (0..<4).map { try fixture.enqueue("/stock=c\($0).us") }
        let now = Date()
        let claimed = try queue.claim(owner: "bot-a", lease: 10, limit: 4, now: now)
        #expect(claimed.map(\.id) == jobs.map(\.id), "claimed together, oldest first")
        // bot-a's lease on the first job expires and bot-b takes it.
        let taken = try queue.claim(owner: "bot-b", lease: 10, limit: 1, now: now.addingTimeInterval(11))
        #expect(taken.map(\.id) == [jobs[0].id])

        let ids = jobs.map { $0.id! }
        let later = now.addingTimeInterval(12)
        let recorded = try queue.answer([
            .answered(jobID: ids[0], reply: "late"),
            .answered(jobID: ids[1], reply: "C1.US quote is $1.00 per share"),
            .retry(jobID: ids[2], error: "timeout", at: later.addingTimeInterval(2)),
            .dead(jobID: ids[3], error: "HTTP 500", apology: "sorry"),
        ], owner: "bot-a", now: later)
        #expect(recorded == Set(ids[1...3]), "the job bot-b holds is refused; the others are recorded")
        #expect(try queue.job(id: ids[0])?.status == .claimed)
        #expect(try queue.job(id: ids[0])?.leaseOwner == "bot-b")
        #expect(try queue.job(id: ids[0])?.reply == nil)
        #expect(try queue.job(id: ids[1])?.status == .answered)
        #expect(try queue.job(id: ids[1])?.reply == "C1.US quote is $1.00 per share")
        #expect(try queue.job(id: ids[2])?.status == .queued)
        #expect(try queue.job(id: ids[2])?.lastError == "timeout")
        #expect(try queue.job(id: ids[3])?.status == .dead)
        #expect(try queue.job(id: ids[3])?.reply == "sorry")
        #expect(Set(try [1, 3].map { try queue.job(id: ids[$0])?.answeredAt }).count == 1, "answered in one transaction, at one time")
        #expect(try queue.answer([.answered(jobID: ids[0], reply: "C0.US quote is $1.00 per share")], owner: "bot-b", now: later) == [ids[0]])
        #expect(try queue.answer([], owner: "bot-a", now: later).isEmpty)
    }

    @Test(arguments: TestBackend.all) func anExpiredLeaseIsClaimedAgainAndTheOldOwnerCannotAnswer(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        let job = try fixture.enqueue()
        let now = Date()
        let first = try #require(try queue.claim(owner: "bot-a", lease: 10, now: now))
        #expect(first.id == job.id)
        #expect(first.attempts == 1)
        #expect(try queue.claim(owner: "bot-b", lease: 10, now: now.addingTimeInterval(5)) == nil, "the lease holds")
        let second = try #require(try queue.claim(owner: "bot-b", lease: 10, now: now.addingTimeInterval(11)))
        #expect(second.id == job.id)
        #expect(second.attempts == 2)
        #expect(try !queue.answer(jobID: job.id!, owner: "bot-a", reply: "late"), "the first bot lost its lease")
        #expect(try queue.answer(jobID: job.id!, owner: "bot-b", reply: "AAPL.US quote is $93.42 per share"))
        #expect(try queue.job(id: job.id!)?.status == .answered)
    }

    @Test(arguments: TestBackend.all) func retriesWaitTheirTurnAndDeadJobsKeepTheirErrorAndApology(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        let job = try fixture.enqueue()
        let now = Date()
        _ = try queue.claim(owner: "bot", lease: 10, now: now)
        #expect(try queue.retry(jobID: job.id!, owner: "bot", error: "timeout", retryAt: now.addingTimeInterval(2)))
        #expect(try queue.claim(owner: "bot", lease: 10, now: now.addingTimeInterval(1)) == nil, "not before its retry time")
        _ = try #require(try queue.claim(owner: "bot", lease: 10, now: now.addingTimeInterval(3)))
        #expect(try queue.kill(jobID: job.id!, owner: "bot", error: "HTTP 500", apology: "sorry"))
        let dead = try #require(try queue.job(id: job.id!))
        #expect(dead.status == .dead)
        #expect(dead.lastError == "HTTP 500")
        #expect(dead.reply == "sorry")
        #expect(try queue.undeliveredReplies().map(\.id) == [job.id], "the apology is still delivered")
    }

    @Test(arguments: TestBackend.all) func releasedJobsAreNotCountedAsAttempts(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        let job = try fixture.enqueue()
        _ = try queue.claim(owner: "bot", lease: 10)
        #expect(try queue.release(jobID: job.id!, owner: "bot"))
        let again = try #require(try queue.claim(owner: "bot", lease: 10))
        #expect(again.attempts == 1)
    }

    @Test(arguments: TestBackend.all) func aReplyIsMarkedDeliveredOnce(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        let job = try fixture.enqueue()
        _ = try queue.claim(owner: "bot", lease: 10)
        try queue.answer(jobID: job.id!, owner: "bot", reply: "hi")
        #expect(try queue.markDelivered(jobID: job.id!))
        #expect(try !queue.markDelivered(jobID: job.id!))
        #expect(try queue.job(id: job.id!)?.status == .delivered)
        #expect(try queue.undeliveredReplies().isEmpty)
    }

    /// A renewed lease holds past its first expiry; only the owner's claimed jobs are renewed.
    @Test(arguments: TestBackend.all) func aRenewedLeaseIsNotClaimedAgain(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        let mine = try fixture.enqueue(), theirs = try fixture.enqueue(), answered = try fixture.enqueue()
        let now = Date()
        _ = try #require(try queue.claim(owner: "bot-a", lease: 10, now: now))
        _ = try #require(try queue.claim(owner: "bot-b", lease: 10, now: now))
        _ = try #require(try queue.claim(owner: "bot-a", lease: 10, now: now))
        try queue.answer(jobID: answered.id!, owner: "bot-a", reply: "done")
        let renewed = try queue.renew(jobIDs: [mine.id!, theirs.id!, answered.id!], owner: "bot-a", lease: 10, now: now.addingTimeInterval(8))
        #expect(renewed == [mine.id!], "only a job bot-a still holds")
        #expect(try queue.renew(jobIDs: [], owner: "bot-a", lease: 10).isEmpty)
        let later = now.addingTimeInterval(12)
        let reclaimed = try #require(try queue.claim(owner: "bot-c", lease: 10, now: later), "bot-b's lease was not renewed")
        #expect(reclaimed.id == theirs.id)
        #expect(try queue.claim(owner: "bot-c", lease: 10, now: later) == nil, "bot-a's renewed lease holds until 18 s")
        #expect(try queue.answer(jobID: mine.id!, owner: "bot-a", reply: "AAPL.US quote is $93.42 per share"))
    }

    /// A claim of several takes the oldest claimable ones, in id order, each counted as an attempt.
    @Test(arguments: TestBackend.all) func aClaimTakesUpToItsLimitOldestFirst(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        let ids = try (0..<5).map { try fixture.enqueue("/stock=\($0)").id! }
        let now = Date()
        let first = try queue.claim(owner: "bot", lease: 10, limit: 3, now: now)
        #expect(first.map(\.id!) == Array(ids.prefix(3)))
        #expect(first.allSatisfy { $0.status == .claimed && $0.attempts == 1 && $0.leaseOwner == "bot" })
        #expect(try queue.claim(owner: "bot", lease: 10, limit: 3, now: now).map(\.id!) == Array(ids.suffix(2)))
        #expect(try queue.claim(owner: "bot", lease: 10, limit: 3, now: now).isEmpty)
    }

    /// Each waiter's watch says "changed" the first time and after another connection's commit
    /// (on PostgreSQL, once the notification has come, which wakes the waiter).
    @Test(arguments: TestBackend.all) func aWatchWakesAfterAnotherConnectionCommits(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.remove() }
        let woken = DispatchSemaphore(value: 0)
        let watch = try fixture.queue.changes(of: .newJobs) { woken.signal() }
        defer { watch.stop() }
        #expect(watch.changed(), "the first look")
        if backend == .postgres {
            #expect(eventually(timeout: .seconds(30)) { watch.wakesByItself }, "listening")
            _ = watch.changed()
        }
        #expect(!watch.changed())
        _ = try fixture.otherQueue().enqueue(roomID: 1, userID: 1, username: "alice", command: "/stock=aapl.us")
        if watch.wakesByItself {
            #expect(Self.awaitChange(watch, woken), "the notification wakes the waiter")
        } else {
            #expect(watch.changed())
        }
        #expect(!watch.changed())
    }

    /// Waits for wake-ups until the watch says "changed" (a wake-up may be older than the change
    /// looked for); `false` if none comes in 30 s.
    static func awaitChange(_ watch: any ChangeWatch, _ woken: DispatchSemaphore) -> Bool {
        let deadline = DispatchTime.now() + 30
        while woken.wait(timeout: deadline) == .success {
            if watch.changed() { return true }
        }
        return false
    }
}

/// SQLite only: a row the code cannot read makes the read throw, naming the column and the value.
struct JobRowTests {
    @Test func aJobWithAnUnknownStatusCannotBeRead() throws {
        let directory = NSTemporaryDirectory() + "jobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try DatabaseFile.open(path: directory + "/db.sqlite")
        try DatabaseFile.migrate(database, JobQueueSchema.migrations)
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: """
                INSERT INTO job (room_id, username, command, status, created_at) VALUES (1, 'alice', '/stock=aapl.us', 'lost', ?)
                """, arguments: [Date()])
            try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        }
        let error = #expect(throws: (any Error).self) { try SQLiteJobQueue(database: database).job(id: 1) }
        #expect("\(error.map { "\($0)" } ?? "")".contains(#"could not decode Status from database value "lost""#), "\(String(describing: error))")
    }
}
