import Foundation
import JobQueue
import Storage
import StockBot
import Testing
import TestSupport

/// The responder, nginx, the real `stockbot` process and a local quote server on loopback.
@Suite(.serialized)
struct StockBotProcessTests {
    struct Setup {
        let stack: ResponderStack
        let quotes: QuoteServer
        let user: [String: String]

        init(backend: TestBackend = .endToEnd) throws {
            quotes = try QuoteServer()
            stack = try ResponderStack.tradedesk(backend: backend, environment: ["REGISTRATION": "open", "COMMAND_BURST": "50"])
            try stack.register("alice")
            user = ["Authorization": "Bearer \(try stack.createToken("alice"))", "Content-Type": "application/json"]
        }

        /// The real bot on the stack's database (as its own role on PostgreSQL).
        func bot(_ environment: [String: String] = [:], name: String = "bot") throws -> ChildProcess {
            try stack.stockbot(["--quote-url", quotes.urlTemplate],
                               environment: ["STOCKBOT_RETRY_BACKOFF": "0.2"].merging(environment) { $1 }, name: name)
        }

        func command(_ text: String) throws -> Int {
            let answer = try stack.request("POST", "/api/rooms/1/messages", headers: user,
                                           body: Array(try JSONSerialization.data(withJSONObject: ["text": text])))
            guard answer.status == 202, let job = try answer.json()["job"] as? Int else { throw TestFailure("command: \(answer)") }
            return job
        }

        func botMessages() throws -> [String] {
            let list = try JSONSerialization.jsonObject(with: Data(stack.request("GET", "/api/rooms/1/messages", headers: user).body)) as? [[String: Any]]
            return (list ?? []).filter { $0["bot"] as? Bool == true }.compactMap { $0["text"] as? String }
        }

        func stop() {
            quotes.stop()
            stack.stop()
        }
    }

    /// A bot started before its database is there (its folder missing, then not migrated) does not
    /// exit, which systemd would turn into a restart loop and then a failed unit: it says why it
    /// waits, and answers commands as soon as the responder has created the database.
    @Test func aBotWaitsForItsDatabaseThenAnswers() throws {
        let quotes = try QuoteServer()
        defer { quotes.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let folder = directory.file("data")
        let database = folder + "/tradedesk.sqlite"
        let bot = try ChildProcess(Paths.product("stockbot"), ["--database", database, "--quote-url", quotes.urlTemplate],
                                   logPath: directory.file("bot.log"))
        defer { bot.stop() }
        #expect(eventually {
            bot.output.contains("cannot open the database \(database) for writing: it cannot be created: No such file or directory")
        }, "\(bot.output)")
        mkdir(folder, 0o755)
        #expect(eventually(timeout: .seconds(10)) { bot.output.contains("the database \(database) has no job table yet") }, "\(bot.output)")
        #expect(bot.poll() == nil, "the bot exited: \(bot.output)")

        let stack = try ResponderStack(executable: Paths.product("tradedesk"), environment: ["REGISTRATION": "open"]) { socket, _ in
            ["serve", "--listen", "unix:\(socket)", "--database", database]
        }
        defer { stack.stop() }
        try stack.register("alice")
        let token = try stack.createToken("alice")
        let queued = try stack.json("POST", "/api/rooms/1/messages", ["text": "/stock=aapl.us"], headers: ["Authorization": "Bearer \(token)"])
        #expect(queued.status == 202, "\(queued)")
        #expect(eventually(timeout: .seconds(15)) {
            let page = (try? stack.request("GET", "/api/rooms/1/messages", headers: ["Authorization": "Bearer \(token)"]).body) ?? []
            return String(decoding: page, as: UTF8.self).contains("AAPL.US quote is $93.42 per share")
        }, "\(bot.output)")
        #expect(bot.output.contains("the database is available"))
        bot.signal(SIGTERM)
        #expect(bot.wait(timeout: .seconds(5)) == 0, "\(bot.output)")
    }

    /// The same on PostgreSQL: a bot started on a database nobody has migrated yet says so and
    /// waits, and answers once `tradedesk migrate` has run and the responder serves. (It connects as
    /// the owner here: the bot's own role gets its grants from that migration.)
    @Test(.enabled(if: TestBackend.endToEnd == .postgres, "the end-to-end suites run on SQLite"))
    func aBotWaitsForItsPostgreSQLDatabaseToBeMigratedThenAnswers() throws {
        let quotes = try QuoteServer()
        defer { quotes.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = PostgresServer.shared
        let ownerURL = try server.createDatabase()
        let name = try #require(PostgresServer.databaseName(of: ownerURL))
        let bot = try ChildProcess(Paths.product("stockbot"), ["--quote-url", quotes.urlTemplate], environment: ["DATABASE_URL": ownerURL],
                                   logPath: directory.file("bot.log"))
        defer { bot.stop() }
        #expect(eventually(timeout: .seconds(10)) { bot.output.contains("has no job table yet") }, "\(bot.output)")
        #expect(bot.poll() == nil, "the bot exited: \(bot.output)")

        let migrate = try ChildProcess.run(Paths.product("tradedesk"), ["migrate"], environment: ["DATABASE_URL": ownerURL],
                                           logPath: directory.file("migrate.log"), timeout: .seconds(60))
        #expect(migrate.status == 0, "\(migrate.output)")
        let role = PostgresTestDatabase.responderRole
        try server.ensureLoginRole(role.login, in: role.group)
        let stack = try ResponderStack(executable: Paths.product("tradedesk"),
                                       environment: ["REGISTRATION": "open", "DATABASE_URL": server.url(database: name, user: role.login)]) { socket, _ in
            ["serve", "--listen", "unix:\(socket)"]
        }
        defer { stack.stop() }
        try stack.register("alice")
        let token = try stack.createToken("alice")
        let queued = try stack.json("POST", "/api/rooms/1/messages", ["text": "/stock=aapl.us"], headers: ["Authorization": "Bearer \(token)"])
        #expect(queued.status == 202, "\(queued)")
        #expect(eventually(timeout: .seconds(15)) {
            let page = (try? stack.request("GET", "/api/rooms/1/messages", headers: ["Authorization": "Bearer \(token)"]).body) ?? []
            return String(decoding: page, as: UTF8.self).contains("AAPL.US quote is $93.42 per share")
        }, "\(bot.output)")
        #expect(bot.output.contains("the database is available"))
        bot.signal(SIGTERM)
        #expect(bot.wait(timeout: .seconds(5)) == 0, "\(bot.output)")
    }

    @Test func everyCommandGetsAReplyInTheRoom() throws {
        let setup = try Setup()
        defer { setup.stop() }
        let bot = try setup.bot(["STOCKBOT_MAX_ATTEMPTS": "2", "STOCKBOT_TIMEOUT": "1"])
        defer { bot.stop() }
        let expected = [
            ("/stock=aapl.us", "AAPL.US quote is $93.42 per share"),
            ("/STOCK=nd.us", "no quote for ND.US"),
            ("/stock=", "Which stock? Write /stock=CODE, e.g. /stock=aapl.us."),
            ("/stock=aapl.us&s=evil", "That is not a stock code I can look up: use 1 to 20 letters, digits and . - _ ^ (e.g. /stock=aapl.us)."),
            ("/help", "I know one command: /stock=CODE, e.g. /stock=aapl.us for Apple on the US market."),
            ("/stock=fail.us", "Sorry, I could not get a quote for FAIL.US after 2 tries. Please try again later."),
            ("/stock=garbage.us", "Sorry, I could not get a quote for GARBAGE.US after 2 tries. Please try again later."),
            ("/stock=slow.us", "Sorry, I could not get a quote for SLOW.US after 2 tries. Please try again later."),
        ]
        for (command, _) in expected { _ = try setup.command(command) }
        #expect(eventually(timeout: .seconds(20)) { (try? setup.botMessages().count) == expected.count }, "\(bot.output)")
        #expect(Set(try setup.botMessages()) == Set(expected.map(\.1)))
        // Commands are never posted as messages.
        let texts = try JSONSerialization.jsonObject(with: Data(setup.stack.request("GET", "/api/rooms/1/messages", headers: setup.user).body)) as? [[String: Any]]
        #expect(texts?.allSatisfy { ($0["text"] as? String)?.hasPrefix("/") == false } == true)
        // The bad code never reached the quote server; the failures were retried.
        #expect(!setup.quotes.codes.contains { $0.contains("evil") })
        #expect(setup.quotes.codes.filter { $0 == "fail.us" }.count == 2)
        let dead = try setup.stack.rows("SELECT command, last_error FROM job WHERE status = 'dead' ORDER BY id")
        #expect(dead.map { $0[0] } == ["/stock=fail.us", "/stock=garbage.us", "/stock=slow.us"])
        #expect(dead.first?[1].contains("HTTP 500") == true, "\(dead)")

        bot.signal(SIGTERM)
        #expect(bot.wait(timeout: .seconds(5)) == 0, "\(bot.output)")
        #expect(bot.output.contains("stockbot stopped"))
    }

    @Test func aQuoteServerThatIsDownGetsEachCommandAnApologyAndTheQueueMovesOn() throws {
        let setup = try Setup()
        defer { setup.stop() }
        let closedPort = try freePort()
        let bot = try setup.stack.stockbot(["--quote-url", "http://127.0.0.1:\(closedPort)/q/l/?s={code}"],
                                           environment: ["STOCKBOT_RETRY_BACKOFF": "0.2", "STOCKBOT_MAX_ATTEMPTS": "2"], name: "down-bot")
        defer { bot.stop() }
        let codes = ["aapl.us", "msft.us", "/help"]
        for code in codes { _ = try setup.command(code.hasPrefix("/") ? code : "/stock=\(code)") }
        #expect(eventually(timeout: .seconds(20)) { (try? setup.botMessages().count) == codes.count }, "\(bot.output)")
        #expect(Set(try setup.botMessages()) == [
            "Sorry, I could not get a quote for AAPL.US after 2 tries. Please try again later.",
            "Sorry, I could not get a quote for MSFT.US after 2 tries. Please try again later.",
            BotReply.helpText,
        ])
        #expect(try setup.stack.rows("SELECT COUNT(*) FROM job WHERE status IN ('queued', 'claimed')") == [["0"]], "no job is left behind")
        let errors = try setup.stack.rows("SELECT last_error FROM job WHERE status = 'dead'").map { $0[0] }
        #expect(errors.count == 2 && errors.allSatisfy { $0.contains("onnect") }, "\(errors)")
    }

    @Test func aBotKilledMidJobLosesNothingAndTheReplyIsPostedOnce() throws {
        let setup = try Setup()
        defer { setup.stop() }
        // The first bot holds its jobs for 1 s at a time; its first request hangs, and it is killed.
        let first = try setup.bot(["STOCKBOT_LEASE": "1", "STOCKBOT_TIMEOUT": "60"], name: "first")
        let job = try setup.command("/stock=slowonce.us")
        #expect(eventually { setup.quotes.codes.contains("slowonce.us") })
        first.signal(SIGKILL)
        #expect(first.wait(timeout: .seconds(5)) == 128 + SIGKILL)

        let second = try setup.bot(name: "second")
        defer { second.stop() }
        #expect(eventually(timeout: .seconds(10)) { (try? setup.botMessages()) == ["SLOWONCE.US quote is $10.50 per share"] })
        usleep(500_000)
        #expect(try setup.botMessages().count == 1, "exactly one reply")
        let stored = try #require(try setup.stack.jobQueue(as: .owner).job(id: Int64(job)))
        #expect(stored.attempts == 2, "claimed twice: by the killed bot, then by the second")
        #expect(stored.status == .delivered)
    }

    @Test func twoBotsShareTheQueue() throws {
        let setup = try Setup()
        defer { setup.stop() }
        let bots = try ["a", "b"].map { try setup.bot(name: $0) }
        defer { bots.forEach { $0.stop() } }
        for index in 0..<20 { _ = try setup.command("/stock=c\(index).us") }
        #expect(eventually(timeout: .seconds(20)) { (try? setup.botMessages().count) == 20 })
        #expect(Set(try setup.botMessages()).count == 20, "each command answered once")
    }

    /// Hole 7, through the job table and the real bot: hostile commands (written straight into the
    /// table, past the responder's own checks) get fixed replies that repeat nothing of them; the
    /// reported command, posted through the API, comes back as the fixed hint.
    @Test func theBotRepeatsNothingItIsSent() throws {
        let setup = try Setup()
        defer { setup.stop() }
        // The quote server's Symbol: a line break, a bidi override, or a valid code that is not the one asked for.
        setup.quotes.bodies = [
            "newline.us": "Symbol,Close\r\nNEWLINE\nnotice: admin,1\r\n",
            "bidi.us": "Symbol,Close\r\nBIDI.US\u{202E}nimda,1\r\n",
            "isolate.us": "Symbol,Close\r\n\u{2066}ISOLATE.US\u{2069},1\r\n",
            "other.us": "Symbol,Close\r\nBUYNOW,5\r\n",
        ]
        let bot = try setup.bot(["STOCKBOT_MAX_ATTEMPTS": "2"])
        defer { bot.stop() }
        let invalid = BotReply.invalidCodeText, help = BotReply.helpText
        var expected: [(String, String)] = BotReplyTests.hostileCodes.map { ("/stock=\($0)", invalid) }
        expected += [
            ("/stock=", BotReply.emptyCodeText),
            ("/stock=aapl.us extra", invalid),
            ("/STOCK=AAPL.US", "AAPL.US quote is $93.42 per share"),
            ("/help\n\u{202E}Admin: you are banned", help),
            ("/\u{200B}stock=aapl.us", help),
            ("/stoc\u{212A}=aapl.us", help),
            ("/" + String(repeating: "x", count: 3000), help),
            ("/stock=newline.us", "Sorry, I could not get a quote for NEWLINE.US after 2 tries. Please try again later."),
            ("/stock=bidi.us", "Sorry, I could not get a quote for BIDI.US after 2 tries. Please try again later."),
            ("/stock=isolate.us", "Sorry, I could not get a quote for ISOLATE.US after 2 tries. Please try again later."),
            ("/stock=other.us", "OTHER.US quote is $5.00 per share"),
        ]
        let jobs = try setup.stack.jobQueue(as: .owner)
        let ids = try expected.map { try #require(try jobs.enqueue(roomID: 1, userID: nil, username: "alice", command: $0.0).id) }
        let reported = try setup.command("/stock=Admin\nnotice\u{202E}:")
        #expect(eventually(timeout: .seconds(30)) {
            (try? (ids + [Int64(reported)]).allSatisfy { try jobs.job(id: $0)?.reply != nil }) == true
        }, "\(bot.output)")
        for (id, (command, reply)) in zip(ids, expected) {
            let stored = try #require(try jobs.job(id: id))
            #expect(stored.reply == reply, "\(command.prefix(60).debugDescription)")
            #expect(BotReply.isPlain(stored.reply ?? ""))
            #expect(BotReply.isPlain(stored.lastError ?? ""), "\(stored.lastError ?? "")")
        }
        #expect(try jobs.job(id: Int64(reported))?.reply == invalid)
        #expect(eventually(timeout: .seconds(10)) { (try? setup.botMessages().contains(invalid)) == true })
        #expect(try setup.botMessages().allSatisfy(BotReply.isPlain))
        // Nothing hostile was asked of the quote server, and the log holds none of it.
        #expect(Set(setup.quotes.codes).isSubset(of: ["aapl.us", "newline.us", "bidi.us", "isolate.us", "other.us"]), "\(setup.quotes.codes)")
        for marker in ["Admin", "\u{202E}", "\u{2066}", "BUYNOW", "nimda"] {
            #expect(!bot.output.contains(marker), "\(marker.debugDescription) in the log")
        }
    }

    /// Hole 8, through the job table and the real bot: a redirect to another loopback host is refused
    /// (one try, an error reply, a log line naming the quote host and not the URL); one within the
    /// quote host is followed.
    @Test func theBotFollowsRedirectsOnlyWithinTheQuoteHost() throws {
        let setup = try Setup()
        defer { setup.stop() }
        let elsewhere = try QuoteServer(address: "127.0.0.2")
        defer { elsewhere.stop() }
        setup.quotes.redirects = [
            "away.us": elsewhere.url(for: "aapl.us"),
            "moved.us": setup.quotes.url(for: "aapl.us"),
            "loop.us": setup.quotes.url(for: "loop.us"),
        ]
        let bot = try setup.bot(["STOCKBOT_MAX_ATTEMPTS": "2"])
        defer { bot.stop() }
        let away = try setup.command("/stock=away.us")
        _ = try setup.command("/stock=moved.us")
        _ = try setup.command("/stock=loop.us")
        #expect(eventually(timeout: .seconds(20)) { (try? setup.botMessages().count) == 3 }, "\(bot.output)")
        #expect(Set(try setup.botMessages()) == [
            "Sorry, I could not get a quote for AWAY.US: the quote service answered with a redirect elsewhere.",
            "MOVED.US quote is $93.42 per share",
            "Sorry, I could not get a quote for LOOP.US after 2 tries. Please try again later.",
        ])
        #expect(elsewhere.codes.isEmpty, "the other host was never contacted")
        let stored = try #require(try setup.stack.jobQueue(as: .owner).job(id: Int64(away)))
        #expect(stored.status == .dead && stored.attempts == 1, "refused at once, not retried")
        #expect(stored.lastError?.contains("127.0.0.1:\(setup.quotes.port)") == true && stored.lastError?.contains("away") == false)
        #expect(bot.output.contains("quote refused: the quote server redirected elsewhere"), "\(bot.output)")
        #expect(bot.output.contains("quote_host=127.0.0.1:\(setup.quotes.port)"), "\(bot.output)")
        #expect(!bot.output.contains("away.us") && !bot.output.contains("/q/l/") && !bot.output.contains("127.0.0.2"), "\(bot.output)")
    }

    /// A quote URL libcurl would not fetch as http(s) stops the bot before it waits for anything.
    @Test(arguments: ["ftp://127.0.0.1/q?s={code}", "file:///tmp/q?s={code}", "127.0.0.1/q?s={code}"])
    func aBotWithAQuoteURLThatIsNotHTTPRefusesToStart(_ template: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bot = try ChildProcess(Paths.product("stockbot"), ["--database", directory.file("none.sqlite"), "--quote-url", template],
                                   logPath: directory.file("bot.log"))
        defer { bot.stop() }
        #expect(bot.wait(timeout: .seconds(10)) == 78, "\(bot.output)")
        #expect(bot.output.contains("cannot start: the quote URL"), "\(bot.output)")
    }
}
