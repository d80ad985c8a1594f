import Foundation
import GRDB
import JobQueue
import Storage
import StockBot
import Testing
import TestSupport

/// The bot fetches several quotes at once: through the responder, nginx, the real `stockbot`
/// process, the job table and a loopback quote server with latency. The times asserted are bounds on
/// what a user sees ("within 2 s", "before the hang ends"), not performance targets.
@Suite(.serialized)
struct StockBotConcurrencyTests {
    typealias Setup = StockBotProcessTests.Setup

    static func started(_ bot: ChildProcess) -> Bool { eventually(timeout: .seconds(10)) { bot.output.contains("stockbot started") } }

    /// Jobs written straight into the table in one transaction: made at the same moment.
    static func enqueueTogether(_ setup: Setup, _ commands: [String]) throws -> [Int64] {
        let database = try DatabaseFile.open(path: setup.stack.databasePath)
        return try database.write { db in
            try commands.map { try #require(try SQLiteJobQueue.enqueue(db, roomID: 1, userID: nil, username: "alice", command: $0).id) }
        }
    }

    /// Was 4.1 s when the bot fetched one quote at a time: 20 commands from 4 users, each quote 200 ms away.
    @Test func twentyCommandsFromFourUsersAt200msAreAnsweredWithinTwoSeconds() throws {
        let setup = try Setup()
        defer { setup.stop() }
        setup.quotes.latency = 0.2
        var users = [setup.user]
        for name in ["bob", "carol", "dave"] {
            try setup.stack.register(name)
            users.append(["Authorization": "Bearer \(try setup.stack.createToken(name))", "Content-Type": "application/json"])
        }
        let bot = try setup.bot()
        defer { bot.stop() }
        #expect(Self.started(bot), "\(bot.output)")
        let started = ContinuousClock.now
        for round in 0..<5 {
            for (index, user) in users.enumerated() {
                let answer = try setup.stack.request("POST", "/api/rooms/1/messages", headers: user,
                                                     body: Array(try JSONSerialization.data(withJSONObject: ["text": "/stock=u\(index)c\(round).us"])))
                #expect(answer.status == 202, "\(answer)")
            }
        }
        #expect(eventually(timeout: .seconds(10)) { (try? setup.botMessages().count) == 20 }, "\(bot.output)")
        let elapsed = started.duration(to: .now)
        #expect(elapsed < .seconds(2), "20 commands answered in \(elapsed)")
        #expect(Set(try setup.botMessages()) == Set((0..<5).flatMap { round in
            (0..<4).map { "U\($0)C\(round).US quote is $10.50 per share" }
        }))
        #expect(setup.quotes.codes.count == 20, "\(setup.quotes.codes.sorted())")
        #expect((2...8).contains(setup.quotes.maxInFlight), "fetched at once, at most STOCKBOT_CONCURRENCY (8): \(setup.quotes.maxInFlight)")
    }

    /// Was 9.8 s (the whole timeout) when one hanging quote held the bot's only fetch.
    @Test func aHangingCodeDoesNotDelayAnotherCodesAnswer() throws {
        let setup = try Setup()
        defer { setup.stop() }
        let bot = try setup.bot(["STOCKBOT_TIMEOUT": "10"])
        defer { bot.stop() }
        #expect(Self.started(bot), "\(bot.output)")
        _ = try setup.command("/stock=slow.us")  // the quote server hangs 30 s on it
        #expect(eventually { setup.quotes.codes.contains("slow.us") })
        let asked = ContinuousClock.now
        _ = try setup.command("/stock=aapl.us")
        #expect(eventually(timeout: .seconds(9)) { (try? setup.botMessages()) == ["AAPL.US quote is $93.42 per share"] }, "\(bot.output)")
        let elapsed = asked.duration(to: .now)
        #expect(elapsed < .seconds(2), "answered in \(elapsed), while the other code still hangs")
        #expect(try setup.botMessages().count == 1, "the hanging code is not answered yet")
    }

    /// Five identical codes made at once: one request at the quote server, five replies. A request
    /// made while that code's fetch runs is not given that fetch's answer (it could be older than the
    /// request): it gets the next fetch, which starts after it.
    @Test func identicalCodesAtTheSameTimeShareOneFetchAndNoAnswerIsOlderThanItsRequest() throws {
        let setup = try Setup()
        defer { setup.stop() }
        setup.quotes.delays = ["same.us": 0.5, "again.us": 1.5]
        let bot = try setup.bot()
        defer { bot.stop() }
        #expect(Self.started(bot), "\(bot.output)")
        let same = try Self.enqueueTogether(setup, Array(repeating: "/stock=same.us", count: 5))
        let jobs = SQLiteJobQueue(database: try DatabaseFile.open(path: setup.stack.databasePath))
        #expect(eventually(timeout: .seconds(10)) { (try? same.allSatisfy { try jobs.job(id: $0)?.reply != nil }) == true }, "\(bot.output)")
        #expect(try same.map { try jobs.job(id: $0)?.reply } == Array(repeating: "SAME.US quote is $10.50 per share", count: 5))
        #expect(setup.quotes.count("same.us") == 1, "one fetch for the five")

        // The first `again.us` fetch is running when two more requests are made; they share the second fetch.
        let first = try Self.enqueueTogether(setup, ["/stock=again.us"])
        #expect(eventually { setup.quotes.count("again.us") == 1 })
        usleep(20_000)
        let later = try Self.enqueueTogether(setup, ["/stock=again.us", "/stock=AGAIN.US"])
        let all = first + later
        #expect(eventually(timeout: .seconds(10)) { (try? all.allSatisfy { try jobs.job(id: $0)?.reply != nil }) == true }, "\(bot.output)")
        #expect(setup.quotes.count("again.us") == 2, "the later requests got a fetch that started after them")
        let answered = try all.map { try #require(try jobs.job(id: $0)?.answeredAt) }
        #expect(answered[1].timeIntervalSince(answered[0]) > 1, "the later ones waited for the second fetch")
        #expect(eventually(timeout: .seconds(5)) { (try? setup.botMessages().count) == 8 })
    }

    /// Eight commands made at once are claimed in one statement; the three the bot answers without a
    /// fetch are recorded in one transaction, and so are the five that share one fetch: each group
    /// has one `answered_at`, the time of its transaction.
    @Test func jobsFinishedTogetherAreAnsweredInOneTransaction() throws {
        let setup = try Setup()
        defer { setup.stop() }
        setup.quotes.delays = ["share.us": 0.3]
        let bot = try setup.bot()
        defer { bot.stop() }
        #expect(Self.started(bot), "\(bot.output)")
        let ids = try Self.enqueueTogether(setup, Array(repeating: "/stock=share.us", count: 5) + ["/help", "/hello", "/quote"])
        let jobs = SQLiteJobQueue(database: try DatabaseFile.open(path: setup.stack.databasePath))
        #expect(eventually(timeout: .seconds(10)) { (try? ids.allSatisfy { try jobs.job(id: $0)?.answeredAt != nil }) == true }, "\(bot.output)")
        let stored = try ids.map { try #require(try jobs.job(id: $0)) }
        #expect(stored.allSatisfy { $0.attempts == 1 }, "each claimed once")
        #expect(setup.quotes.count("share.us") == 1, "one fetch for the five")
        #expect(Set(stored.prefix(5).map(\.reply)) == ["SHARE.US quote is $10.50 per share"])
        #expect(Set(stored.prefix(5).map(\.answeredAt)).count == 1, "the five in one transaction: \(stored.prefix(5).map(\.answeredAt))")
        #expect(Set(stored.suffix(3).map(\.answeredAt)).count == 1, "the three in one transaction: \(stored.suffix(3).map(\.answeredAt))")
        #expect(stored.suffix(3).allSatisfy { $0.reply?.hasPrefix("I know one command") == true }, "\(stored.suffix(3).map(\.reply))")
        #expect(eventually(timeout: .seconds(5)) { (try? setup.botMessages().count) == 8 })
    }

    /// Two bots, a lease of 1 s and a quote that takes 3.5 s: the bot fetching renews its lease, the
    /// other never claims the job, and the user gets exactly one reply from one fetch.
    @Test func twoBotsAndAQuoteSlowerThanTheLeaseGiveExactlyOneReply() throws {
        let setup = try Setup()
        defer { setup.stop() }
        setup.quotes.delays = ["slowlease.us": 3.5]
        let bots = try ["a", "b"].map { try setup.bot(["STOCKBOT_LEASE": "1", "STOCKBOT_TIMEOUT": "10"], name: $0) }
        defer { bots.forEach { $0.stop() } }
        for bot in bots { #expect(Self.started(bot), "\(bot.output)") }
        let job = try setup.command("/stock=slowlease.us")
        #expect(eventually(timeout: .seconds(15)) { (try? setup.botMessages()) == ["SLOWLEASE.US quote is $10.50 per share"] },
                "\(bots.map(\.output))")
        usleep(1_500_000)
        #expect(try setup.botMessages().count == 1, "exactly one reply")
        #expect(setup.quotes.count("slowlease.us") == 1, "one fetch: the other bot never claimed the job")
        let stored = try #require(try SQLiteJobQueue(database: DatabaseFile.open(path: setup.stack.databasePath)).job(id: Int64(job)))
        #expect(stored.attempts == 1 && stored.status == .delivered, "\(stored)")
        #expect(bots.allSatisfy { !$0.output.contains("lost its lease") }, "\(bots.map(\.output))")
    }

    /// SIGTERM while a fetch runs: its job is answered, a job waiting for its code's next fetch is
    /// given back untouched (and answered by another bot), the bot exits 0, and every job has one reply.
    @Test func sigtermAnswersTheFetchRunningAndGivesBackTheRest() throws {
        let setup = try Setup()
        defer { setup.stop() }
        setup.quotes.delays = ["drain.us": 1.5]
        let bot = try setup.bot(name: "draining")
        defer { bot.stop() }
        #expect(Self.started(bot), "\(bot.output)")
        let running = try Self.enqueueTogether(setup, ["/stock=drain.us"])[0]
        #expect(eventually { setup.quotes.count("drain.us") == 1 })
        usleep(20_000)
        let waiting = try Self.enqueueTogether(setup, ["/stock=drain.us"])[0]
        let jobs = SQLiteJobQueue(database: try DatabaseFile.open(path: setup.stack.databasePath))
        #expect(eventually { (try? jobs.job(id: waiting)?.status) == .claimed }, "claimed, waiting for the next fetch")
        bot.signal(SIGTERM)
        #expect(bot.wait(timeout: .seconds(10)) == 0, "\(bot.output)")
        #expect(try jobs.job(id: running)?.reply == "DRAIN.US quote is $10.50 per share", "the fetch running was answered")
        let given = try #require(try jobs.job(id: waiting))
        #expect(given.status == .queued && given.attempts == 0 && given.reply == nil, "given back untouched: \(given)")
        #expect(setup.quotes.count("drain.us") == 1)

        let next = try setup.bot(name: "next")
        defer { next.stop() }
        #expect(eventually(timeout: .seconds(10)) { (try? setup.botMessages().count) == 2 }, "\(next.output)")
        usleep(300_000)
        #expect(try setup.botMessages() == Array(repeating: "DRAIN.US quote is $10.50 per share", count: 2))
    }

    /// A concurrency that is not a number from 1 to 64 stops the bot at start, naming the variable;
    /// so does any numeric setting that is not a number, or out of its range.
    @Test(arguments: [("STOCKBOT_CONCURRENCY", "0"), ("STOCKBOT_CONCURRENCY", "65"), ("STOCKBOT_CONCURRENCY", "many"),
                      ("STOCKBOT_CONCURRENCY", "abc"), ("STOCKBOT_LEASE", "thirty"), ("STOCKBOT_LEASE", "-1"),
                      ("STOCKBOT_TIMEOUT", "10s"), ("STOCKBOT_MAX_ATTEMPTS", "21")])
    func aBadSettingStopsTheBotAtStart(_ name: String, _ value: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bot = try ChildProcess(Paths.product("stockbot"), ["--database", directory.file("none.sqlite")],
                                   environment: [name: value], logPath: directory.file("bot.log"))
        defer { bot.stop() }
        #expect(bot.wait(timeout: .seconds(10)) == 64, "\(bot.output)")
        #expect(bot.output.contains("Error: \(name) must be"), "\(bot.output)")
    }

    /// The same refusal for a flag names the flag too; a flag the bot does not read is refused.
    @Test func aBadFlagStopsTheBotAtStartNamingItsVariable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bad = try ChildProcess(Paths.product("stockbot"), ["--database", directory.file("none.sqlite"), "--lease", "-1"],
                                   logPath: directory.file("bot.log"))
        defer { bad.stop() }
        #expect(bad.wait(timeout: .seconds(10)) == 64, "\(bad.output)")
        #expect(bad.output.contains("Error: STOCKBOT_LEASE must be 1 to 3600 seconds (given as --lease)"), "\(bad.output)")

        let unknown = try ChildProcess(Paths.product("stockbot"), ["--database", directory.file("none.sqlite"), "--batch-size", "3"],
                                       logPath: directory.file("bot2.log"))
        defer { unknown.stop() }
        #expect(unknown.wait(timeout: .seconds(10)) == 64, "\(unknown.output)")
        #expect(unknown.output.contains("Unknown option '--batch-size'"), "\(unknown.output)")
    }
}
