import Foundation
import JobQueue
import Locking
import Postgres
import Storage
import TestSupport
import Testing

/// What only PostgreSQL can get wrong: claims that wait for each other's locks, and wake-ups that
/// arrive by notification over a connection that can be lost.
struct PostgresJobQueueTests {
    /// A fresh, migrated database and a queue on it.
    struct Fixture {
        let directory: String
        let url: String
        let queue: any JobQueue

        init() throws {
            directory = NSTemporaryDirectory() + "jobs-pg-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            url = try postgresURL(in: directory)
            queue = try makeQueue(.postgres, in: directory)
        }

        var databaseName: String { PostgresServer.databaseName(of: url)! }

        func enqueue(_ command: String = "/stock=aapl.us", on queue: (any JobQueue)? = nil) throws -> Job {
            try (queue ?? self.queue).enqueue(roomID: 1, userID: 1, username: "alice", command: command)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// A bot that holds a job's row locked (in the middle of its claim) does not make another bot
    /// wait: the claim takes the next jobs. A claim that waited would fail on the database's
    /// `lock_timeout` instead.
    @Test func aClaimSkipsTheJobsAnotherClaimHoldsInsteadOfWaitingForThem() throws {
        let setup = try Fixture()
        defer { setup.remove() }
        try PostgresServer.shared.run(sql: "ALTER DATABASE \(setup.databaseName) SET lock_timeout = '5s'")
        let ids = try (0..<3).map { try setup.enqueue("/stock=c\($0).us").id! }
        let holder = try PostgresConnection(url: setup.url)
        try holder.query("BEGIN")
        try holder.query("SELECT id FROM job WHERE id = $1 FOR UPDATE", [ids[0]])

        let queue = try makeQueue(.postgres, in: setup.directory)
        #expect(try queue.claim(owner: "bot-b", lease: 30, limit: 3, now: Date()).map(\.id) == [ids[1], ids[2]])
        try holder.query("ROLLBACK")
        #expect(try queue.claim(owner: "bot-b", lease: 30, limit: 3, now: Date()).map(\.id) == [ids[0]], "free again once the lock is gone")
    }

    /// Four bots, each with its own connections, claim one job at a time as fast as they can: no
    /// job is claimed twice, and every one is claimed.
    @Test func botsOnConnectionsOfTheirOwnNeverClaimTheSameJob() throws {
        let setup = try Fixture()
        defer { setup.remove() }
        let count = 400
        let ids = try (0..<count).map { try setup.enqueue("/stock=\($0)").id! }
        let queues = try (0..<4).map { _ in try makeQueue(.postgres, in: setup.directory) }
        let claimed = Locked<[Int64]>([])
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for (index, queue) in queues.enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    while let job = try queue.claim(owner: "bot-\(index)", lease: 30) {
                        claimed.withLock { $0.append(job.id!) }
                        #expect(try queue.answer(jobID: job.id!, owner: "bot-\(index)", reply: "done"))
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }.start()
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(claimed.withLock { $0 }.sorted() == ids, "each job claimed once")
    }

    /// A bot that looks only every ten minutes by itself hears of a new job at once.
    @Test func aNewJobWakesAWaiterLongBeforeItsPollInterval() throws {
        let setup = try Fixture()
        defer { setup.remove() }
        let waiter = try Waiter(queue: setup.queue)
        defer { waiter.stop() }
        #expect(eventually(timeout: .seconds(30)) { waiter.isWaitingLong }, "listening, and waiting for a wake-up")
        let job = try setup.enqueue(on: try makeQueue(.postgres, in: setup.directory))
        #expect(eventually(timeout: .seconds(30)) { waiter.claimed.contains(job.id!) })
    }

    /// The responder's watch hears of an answer, by notification.
    @Test func anAnswerWakesTheRepliesWatch() throws {
        let setup = try Fixture()
        defer { setup.remove() }
        let woken = DispatchSemaphore(value: 0)
        let watch = try setup.queue.changes(of: .replies) { woken.signal() }
        defer { watch.stop() }
        #expect(eventually(timeout: .seconds(30)) { watch.wakesByItself })
        _ = watch.changed()
        let job = try setup.enqueue()
        let bot = try makeQueue(.postgres, in: setup.directory)
        _ = try bot.claim(owner: "bot", lease: 30)
        #expect(try bot.answer(jobID: job.id!, owner: "bot", reply: "AAPL.US quote is $93.42 per share"))
        #expect(JobQueueTests.awaitChange(watch, woken))
        #expect(try setup.queue.undeliveredReplies().map(\.id) == [job.id])
    }

    /// The listening connection is killed and cannot come back for a while: the waiter polls and
    /// still gets new jobs; once the watch listens again, a notification wakes the waiter again.
    @Test func aWaiterThatLostItsListeningConnectionPollsThenWakesByNotificationAgain() throws {
        let setup = try Fixture()
        defer { setup.remove() }
        let waiter = try Waiter(queue: setup.queue)
        defer { waiter.stop() }
        let other = try makeQueue(.postgres, in: setup.directory)
        #expect(eventually(timeout: .seconds(30)) { waiter.isWaitingLong })

        // New connections are refused (the pools keep theirs), and the listener is cut off.
        let server = PostgresServer.shared
        try server.run(sql: "ALTER DATABASE \(setup.databaseName) WITH ALLOW_CONNECTIONS false", user: PostgresServer.superuser)
        defer { _ = try? server.run(sql: "ALTER DATABASE \(setup.databaseName) WITH ALLOW_CONNECTIONS true", user: PostgresServer.superuser) }
        let killed = try server.run(sql: """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = '\(setup.databaseName)' AND query LIKE 'LISTEN%'
            """, user: PostgresServer.superuser)
        #expect(killed == "1", "one listening connection")
        #expect(eventually(timeout: .seconds(30)) { !waiter.watch.wakesByItself })
        let polled = try setup.enqueue(on: other)
        #expect(eventually(timeout: .seconds(30)) { waiter.claimed.contains(polled.id!) }, "found by polling")
        #expect(!waiter.watch.wakesByItself, "still not listening")

        try server.run(sql: "ALTER DATABASE \(setup.databaseName) WITH ALLOW_CONNECTIONS true", user: PostgresServer.superuser)
        #expect(eventually(timeout: .seconds(30)) { waiter.isWaitingLong }, "listening again")
        let notified = try setup.enqueue(on: other)
        #expect(eventually(timeout: .seconds(30)) { waiter.claimed.contains(notified.id!) }, "woken by the notification")
    }

    /// A row the code cannot read makes the read throw, naming the column and the value (the
    /// table's CHECK is dropped to make one).
    @Test func aJobWithAnUnknownStatusCannotBeRead() throws {
        let setup = try Fixture()
        defer { setup.remove() }
        let job = try setup.enqueue()
        try PostgresServer.shared.run(sql: """
            ALTER TABLE job DROP CONSTRAINT job_status_check;
            UPDATE job SET status = 'lost' WHERE id = \(job.id!);
            """, database: setup.databaseName)
        let error = #expect(throws: PostgresError.self) { try setup.queue.job(id: job.id!) }
        #expect(error?.kind == .decoding)
        #expect("\(error.map { "\($0)" } ?? "")".contains(#"column status: a job status this program does not know: "lost""#),
                "\(String(describing: error))")
    }

    /// A waiter as the bot is one: it claims whenever its watch says "changed", and looks by
    /// itself every 50 ms while the watch cannot wake it, else only every ten minutes.
    final class Waiter: Sendable {
        let queue: any JobQueue
        let watch: any ChangeWatch
        private let woken = DispatchSemaphore(value: 0)
        private let state = Locked((claimed: Set<Int64>(), waitingLong: false, stopped: false))
        private let done = DispatchSemaphore(value: 0)

        init(queue: any JobQueue) throws {
            self.queue = queue
            let woken = woken
            watch = try queue.changes(of: .newJobs) { woken.signal() }
            Thread { [self] in run() }.start()
        }

        var claimed: Set<Int64> { state.withLock { $0.claimed } }
        /// In a ten-minute wait that only a wake-up ends.
        var isWaitingLong: Bool { state.withLock { $0.waitingLong } }

        func stop() {
            state.withLock { $0.stopped = true }
            woken.signal()
            done.wait()
            watch.stop()
        }

        private func run() {
            while !state.withLock({ $0.stopped }) {
                if watch.changed() {
                    let jobs = (try? queue.claim(owner: "waiter", lease: 30, limit: 10, now: Date())) ?? []
                    state.withLock { $0.claimed.formUnion(jobs.compactMap(\.id)) }
                }
                let long = watch.wakesByItself
                state.withLock { $0.waitingLong = long }
                _ = woken.wait(timeout: .now() + (long ? 600 : 0.05))
                state.withLock { $0.waitingLong = false }
            }
            done.signal()
        }
    }
}
