import Foundation
import JobQueue
import Testing
import TestSupport

/// Rooms, messages, long-polls and commands through the real nginx in front of `tradedesk`.
@Suite(.serialized)
struct ChatAPITests {
    struct Chat {
        let stack: ResponderStack
        let alice: [String: String]
        let bob: [String: String]

        init(_ environment: [String: String] = [:]) throws {
            stack = try ResponderStack.tradedesk(environment: ["REGISTRATION": "open", "MESSAGE_BURST": "100"].merging(environment) { $1 })
            try stack.register("alice")
            try stack.register("bob")
            // Alice is a browser with a session cookie, Bob a script with a token.
            alice = ["Cookie": try stack.login("alice"), "Content-Type": "application/json"]
            bob = ["Authorization": "Bearer \(try stack.createToken("bob"))", "Content-Type": "application/json"]
        }

        func post(_ text: String, room: Int = 1, as user: [String: String]) throws -> HTTPResult {
            try stack.request("POST", "/api/rooms/\(room)/messages", headers: user,
                              body: Array(try JSONSerialization.data(withJSONObject: ["text": text])))
        }

        func messages(_ query: String = "", room: Int = 1, as user: [String: String]) throws -> [[String: Any]] {
            let answer = try stack.request("GET", "/api/rooms/\(room)/messages\(query)", headers: user)
            guard answer.status == 200, let list = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]] else {
                throw TestFailure("messages: \(answer)")
            }
            return list
        }

        func longPoll(after: Int, wait: Int = 10, room: Int = 1, as user: [String: String]) throws -> HTTPConnection {
            try stack.open("GET", "/api/rooms/\(room)/messages?after=\(after)&wait=\(wait)", headers: user)
        }

        func health() throws -> [String: Any] { try stack.request("GET", "/api/health").json() }
    }

    @Test func roomsAreListedCreatedAndUniqueInAnyCase() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let initial = try JSONSerialization.jsonObject(with: Data(chat.stack.request("GET", "/api/rooms", headers: chat.alice).body)) as? [[String: Any]]
        #expect(initial?.map { $0["name"] as? String } == ["general"])
        let created = try chat.stack.json("POST", "/api/rooms", ["name": "  Forex desk "], headers: chat.alice)
        #expect(created.status == 201)
        let room = try created.json()
        #expect(room["name"] as? String == "Forex desk")
        #expect(room["created_by"] as? String == "alice")
        #expect(room["created_at"] is String)
        #expect(try chat.stack.json("POST", "/api/rooms", ["name": "FOREX DESK"], headers: chat.bob).status == 409)
        #expect(try chat.stack.json("POST", "/api/rooms", ["name": "   "], headers: chat.bob).status == 400)
        #expect(try chat.stack.json("POST", "/api/rooms", ["name": String(repeating: "x", count: 65)], headers: chat.bob).status == 400)
        #expect(try chat.stack.request("GET", "/api/rooms").status == 401)
    }

    @Test func theLast50MessagesComeOldestFirstAndAfterPagesForward() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        for index in 1...55 { #expect(try chat.post("message \(index)", as: index % 2 == 0 ? chat.alice : chat.bob).status == 201) }
        let last = try chat.messages(as: chat.alice)
        #expect(last.count == 50)
        #expect(last.first?["text"] as? String == "message 6")
        #expect(last.last?["text"] as? String == "message 55")
        let times = last.compactMap { $0["created_at"] as? String }
        #expect(times == times.sorted(), "ordered by timestamp")
        let ids = last.compactMap { $0["id"] as? Int }
        #expect(ids == ids.sorted())
        #expect(last.allSatisfy { $0["room"] as? Int == 1 && $0["bot"] as? Bool == false })

        let afterFirst = try chat.messages("?after=\(ids[0])", as: chat.bob)
        #expect(afterFirst.count == 49)
        let fromStart = try chat.messages("?after=0", as: chat.bob)
        #expect(fromStart.count == 50, "at most 50 a page")
        #expect(fromStart.first?["text"] as? String == "message 1", "a reconnecting client pages forward and misses nothing")
        #expect(try chat.messages("?after=\(ids.last!)", as: chat.bob).isEmpty)
    }

    /// Pages with `after=` from `after`, at most 50 a page, until a page is short.
    static func pageForward(_ chat: Chat, from after: Int = 0) throws -> (messages: [[String: Any]], pages: [Int]) {
        var seen: [[String: Any]] = []
        var pages: [Int] = []
        var cursor = after
        while true {
            let page = try chat.messages("?after=\(cursor)", as: chat.bob)
            pages.append(page.count)
            seen += page
            cursor = page.last?["id"] as? Int ?? cursor
            if page.count < 50 { return (seen, pages) }
        }
    }

    /// Four clients post at once while a fifth pages forward with `after=` (the largest id it has
    /// seen) as they do: it gets every message exactly once, in id order, and the timestamps never
    /// go backwards; then 120 messages page from the start in 50s.
    @Test func concurrentPostersAreServedInOneOrderAndPagingNeverSkips() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let posters = 4, each = 30
        let finishedPosters = Guarded(0)
        let reader = Guarded<[[String: Any]]>([])
        let errors = Guarded<[String]>([])
        onThreads(posters + 1) { worker in
            do {
                if worker == posters {
                    var cursor = 0
                    while true {
                        // Read before the page: once every poster has its 201s, the page sees all.
                        let finished = finishedPosters.withLock { $0 } == posters
                        let page = try chat.messages("?after=\(cursor)&wait=1", as: chat.alice)
                        reader.withLock { $0 += page }
                        cursor = page.last?["id"] as? Int ?? cursor
                        if finished && page.isEmpty { break }
                    }
                } else {
                    for index in 1...each {
                        let answer = try chat.post("\(worker):\(index)", as: worker % 2 == 0 ? chat.alice : chat.bob)
                        if answer.status != 201 { errors.withLock { $0.append("\(worker):\(index): \(answer)") } }
                    }
                    finishedPosters.withLock { $0 += 1 }
                }
            } catch {
                errors.withLock { $0.append("\(worker): \(error)") }
            }
        }
        #expect(errors.withLock { $0 }.isEmpty, "\(errors.withLock { $0 })")
        let live = reader.withLock { $0 }
        for (name, messages) in [("while posting", live), ("from the start", try Self.pageForward(chat).messages)] {
            let ids = messages.compactMap { $0["id"] as? Int }
            #expect(ids.count == posters * each, "\(name): every message")
            #expect(Set(ids).count == ids.count, "\(name): none twice")
            #expect(ids == ids.sorted(), "\(name): id order")
            let times = messages.compactMap { $0["created_at"] as? String }
            #expect(times == times.sorted(), "\(name): timestamps never go backwards")
            for worker in 0..<posters {
                #expect(messages.compactMap { $0["text"] as? String }.filter { $0.hasPrefix("\(worker):") } == (1...each).map { "\(worker):\($0)" },
                        "\(name): each client's messages in the order it posted them")
            }
        }
        #expect(try Self.pageForward(chat).pages == [50, 50, 20])
        let last = try chat.messages(as: chat.alice).compactMap { $0["id"] as? Int }
        #expect(last == Array(live.compactMap { $0["id"] as? Int }.suffix(50)), "the last 50 are the last 50 committed")
    }

    /// A server clock that steps back: the newest message in the file was stamped a minute ahead
    /// (written here, straight into the database, as a clock a minute fast would have). Posts after
    /// it are stamped no earlier, and paging from the first message gets them all.
    @Test func aClockStepBackSkipsNothing() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let first = try #require(try chat.post("first", as: chat.alice).json()["id"] as? Int)
        let ahead = chat.stack.sqlTimestamp(Date().addingTimeInterval(60))
        try chat.stack.execute("INSERT INTO message (room_id, author, text, bot, created_at) VALUES (1, 'bob', 'a minute ahead', false, \(ahead))")
        for index in 1...60 { #expect(try chat.post("after \(index)", as: chat.alice).status == 201) }

        let (messages, pages) = try Self.pageForward(chat, from: first)
        #expect(pages == [50, 11])
        #expect(messages.compactMap { $0["text"] as? String } == ["a minute ahead"] + (1...60).map { "after \($0)" })
        let times = messages.compactMap { $0["created_at"] as? String }
        #expect(times == times.sorted(), "timestamps never go backwards")
        #expect(Set(times).count == 1, "every later post carries the time of the message a minute ahead")
        #expect(try chat.messages(as: chat.bob).last?["text"] as? String == "after 60")
    }

    @Test func aLongPollIsHeldUntilAPostInItsRoom() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let latest = try #require(try chat.post("hello", as: chat.alice).json()["id"] as? Int)
        let other = try #require(try chat.stack.json("POST", "/api/rooms", ["name": "other"], headers: chat.alice).json()["id"] as? Int)

        let waiting = try chat.longPoll(after: latest, as: chat.alice)
        #expect(try eventually { try chat.health()["long_polls"] as? Int == 1 })
        // A post in another room does not wake it.
        #expect(try chat.post("elsewhere", room: other, as: chat.bob).status == 201)
        #expect(!waiting.hasAnswer(within: .milliseconds(500)))

        let posted = ContinuousClock.now
        #expect(try chat.post("hi alice", as: chat.bob).status == 201)
        let answer = try waiting.readResult(timeout: .seconds(5))
        #expect(ContinuousClock.now - posted < .seconds(1))
        let delivered = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]])
        #expect(delivered.map { $0["text"] as? String } == ["hi alice"])
        #expect(delivered.first?["author"] as? String == "bob")
    }

    @Test func aLongPollEndsWithAnEmptyListWhenItsWaitIsOver() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let start = ContinuousClock.now
        let answer = try chat.longPoll(after: 0, wait: 1, as: chat.alice).readResult()
        #expect(answer.status == 200)
        #expect(answer.text == "[]")
        #expect(ContinuousClock.now - start >= .milliseconds(900))
        #expect(try chat.health()["long_polls"] as? Int == 0)
    }

    @Test func aLongPollerThatLeavesIsForgotten() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let waiting = try chat.longPoll(after: 0, as: chat.alice)
        #expect(try eventually { try chat.health()["long_polls"] as? Int == 1 })
        waiting.close()
        #expect(try eventually { try chat.health()["long_polls"] as? Int == 0 })
    }

    @Test func aCommandBecomesAJobNotAMessageAndTheBotsReplyIsPostedOnce() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let queued = try chat.post("/stock=aapl.us", as: chat.alice)
        #expect(queued.status == 202)
        let body = try queued.json()
        #expect(body["status"] as? String == "queued")
        let jobID = try #require(body["job"] as? Int)
        #expect(try chat.messages(as: chat.bob).isEmpty, "a command is not stored as a message")

        // Play the bot's part on the shared database, as another process (on PostgreSQL, with the bot's role): claim and answer.
        let jobs = try chat.stack.jobQueue(as: .bot)
        let job = try #require(try jobs.claim(owner: "test-bot", lease: 30))
        #expect(job.id == Int64(jobID))
        #expect(job.command == "/stock=aapl.us")
        #expect(job.username == "alice")
        #expect(job.roomID == 1)

        let waiting = try chat.longPoll(after: 0, as: chat.bob)
        #expect(try eventually { try chat.health()["long_polls"] as? Int == 1 })
        let answered = ContinuousClock.now
        #expect(try jobs.answer(jobID: Int64(jobID), owner: "test-bot", reply: "AAPL.US quote is $93.42 per share"))
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(waiting.readResult(timeout: .seconds(5)).body)) as? [[String: Any]])
        #expect(ContinuousClock.now - answered < .seconds(1), "the reply shows up within a fraction of a second")
        #expect(reply.count == 1)
        #expect(reply.first?["author"] as? String == "stockbot")
        #expect(reply.first?["bot"] as? Bool == true)
        #expect(reply.first?["text"] as? String == "AAPL.US quote is $93.42 per share")
        #expect(try jobs.job(id: Int64(jobID))?.status == .delivered)

        // A restart looks for undelivered replies again, and posts none twice.
        try chat.stack.restartResponder()
        usleep(300_000)
        #expect(try chat.messages(as: chat.alice).filter { $0["bot"] as? Bool == true }.count == 1)
    }

    @Test func userTextIsStoredAndServedAsText() throws {
        let chat = try Chat()
        defer { chat.stack.stop() }
        let hostile = "<script>alert('x')</script> & \"quotes\" ' OR 1=1; DROP TABLE message;--"
        #expect(try chat.post(hostile, as: chat.alice).status == 201)
        let served = try chat.stack.request("GET", "/api/rooms/1/messages", headers: chat.bob)
        #expect(served.header("content-type")?.hasPrefix("application/json") == true)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(served.body)) as? [[String: Any]])
        #expect(list.first?["text"] as? String == hostile)
    }

    @Test func badRequestsAreRefusedNamingWhatIsWrong() throws {
        let chat = try Chat(["MESSAGE_BURST": "3", "COMMAND_BURST": "2"])
        defer { chat.stack.stop() }
        for path in ["/api/rooms/999/messages", "/api/rooms/abc/messages"] {
            let answer = try chat.stack.request("GET", path, headers: chat.alice)
            #expect(answer.status == 404, "\(path)")
            #expect(try answer.json()["error"] as? String == "no such room")
        }
        // A dot segment is another spelling of a path, never a room.
        let dots = try chat.stack.request("GET", "/api/rooms/%2e%2e/messages", headers: chat.alice)
        #expect(dots.status == 404)
        #expect(try dots.json()["error"] as? String == "no route for GET /api/rooms/%2e%2e/messages")
        #expect(try chat.post("hello", room: 999, as: chat.alice).status == 404)
        for (text, status) in [("", 400), ("   \n ", 400), (String(repeating: "x", count: 1001), 400)] {
            let answer = try chat.post(text, as: chat.alice)
            #expect(answer.status == status)
            #expect(try (answer.json()["error"] as? String)?.contains("'text'") == true)
        }
        for query in ["?wait=31", "?wait=-1", "?wait=abc", "?after=-5", "?after=x"] {
            let answer = try chat.stack.request("GET", "/api/rooms/1/messages\(query)", headers: chat.alice)
            #expect(answer.status == 400, "\(query)")
            #expect(try answer.json()["error"] != nil)
        }
        #expect(try chat.stack.request("GET", "/api/rooms/1/messages").status == 401)

        // Three messages a burst, then 429 with Retry-After; commands have a bucket of their own.
        for index in 1...3 { #expect(try chat.post("m\(index)", as: chat.bob).status == 201) }
        let limited = try chat.post("m4", as: chat.bob)
        #expect(limited.status == 429)
        #expect(limited.header("retry-after") != nil)
        #expect(try (limited.json()["error"] as? String)?.contains("too many messages") == true)
        #expect(try chat.post("from alice", as: chat.alice).status == 201, "limits are per user")
        for _ in 1...2 { #expect(try chat.post("/help", as: chat.bob).status == 202) }
        let commandLimited = try chat.post("/help", as: chat.bob)
        #expect(commandLimited.status == 429)
        #expect(try (commandLimited.json()["error"] as? String)?.contains("too many commands") == true)
    }
}
