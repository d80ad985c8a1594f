import Foundation
import GRDB
import Testing
import TestSupport

/// Input made to break things, through the real nginx: each gets a clear 4xx JSON error naming
/// what is wrong (or is kept exactly as sent), and nothing stored is lost or changed.
/// (Cross-site requests, revoked and expired credentials and `<script>` in messages have tests of
/// their own in AccountsAPITests and ChatAPITests.)
@Suite(.serialized)
struct HostileInputTests {
    struct Desk {
        let stack: ResponderStack
        let alice: [String: String]

        init() throws {
            stack = try ResponderStack.tradedesk(environment: ["REGISTRATION": "open", "BATCH_SIZE": "1", "MESSAGE_BURST": "1000", "COMMAND_BURST": "1000"])
            try stack.register("alice")
            alice = ["Authorization": "Bearer \(try stack.createToken("alice"))", "Content-Type": "application/json"]
        }

        func send(_ method: String, _ path: String, _ body: [UInt8], headers: [String: String]? = nil) throws -> HTTPResult {
            try stack.request(method, path, headers: headers ?? alice, body: body)
        }

        func send(_ method: String, _ path: String, _ body: String, headers: [String: String]? = nil) throws -> HTTPResult {
            try send(method, path, Array(body.utf8), headers: headers)
        }
    }

    /// A 4xx whose JSON error contains `naming`.
    private func expectRefused(_ answer: HTTPResult, _ status: Int, naming: String, _ what: String) throws {
        #expect(answer.status == status, "\(what): \(answer)")
        let error = try answer.json()["error"] as? String
        #expect(error?.contains(naming) == true, "\(what): \(answer)")
    }

    @Test func numbersThatAreNotPricesAreRefusedNamingThePrice() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        for price in ["-0", "0", "\"NaN\"", "\"1e400\"", "1e-7", "1.0000001", "123456789012345678901234567890",
                      "null", "[]", "{}", "true", "\"\"", "\"1 \""] {
            try expectRefused(desk.send("POST", "/api/orders", #"{"order":"buy","price":\#(price)}"#), 400, naming: "price", price)
        }
        // Not JSON numbers at all, or out of any range: the error says where, or which.
        for (price, naming) in [("1e400", "number 1e400 is out of range"), ("-1e400", "-1e400 is out of range"),
                                ("NaN", "around character 23"), ("Infinity", "around character 23"), ("0x10", "around character 24")] {
            try expectRefused(desk.send("POST", "/api/orders", #"{"order":"buy","price":\#(price)}"#), 400, naming: naming, price)
        }
        for side in ["\"BUY\"", "\"hold\"", "1", "null", "\"buy\\u0000\""] {
            try expectRefused(desk.send("POST", "/api/orders", #"{"order":\#(side),"price":1}"#), 400, naming: "order", side)
        }
        #expect(try desk.send("POST", "/api/orders", #"{"order":"buy","price":1}"#).status == 200, "a good order still works")
    }

    @Test func bodiesThatAreNotJSONObjectsAreRefused() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        let nested = String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)
        let cases: [(String, [UInt8])] = [
            ("deeply nested", Array(nested.utf8)),
            ("deeply nested object", Array((String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)).utf8)),
            ("invalid UTF-8", [0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0xFF, 0x22, 0x7D]),
            ("a NUL byte", Array(#"{"text":"a"#.utf8) + [0] + Array(#""}"#.utf8)),
            ("truncated", Array(#"{"text":"hel"#.utf8)),
            ("an array", Array(#"["text"]"#.utf8)),
            ("empty", []),
        ]
        for (what, body) in cases {
            let answer = try desk.send("POST", "/api/rooms/1/messages", body)
            #expect(answer.status == 400, "\(what): \(answer)")
            #expect(try answer.json()["error"] != nil, "\(what)")
        }
        let notJSON = try desk.send("POST", "/api/rooms/1/messages", #"{"text":"hi"}"#,
                                    headers: desk.alice.merging(["Content-Type": "text/plain"]) { $1 })
        try expectRefused(notJSON, 415, naming: "application/json", "text/plain")
        #expect(try desk.stack.request("GET", "/api/health").status == 200, "the responder is still up")
    }

    @Test func controlCharactersAreRefusedInTextAndNames() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        for text in ["a\u{0}b", "bell\u{7}", "esc\u{1B}[31m", "del\u{7F}"] {
            let body = String(decoding: try JSONSerialization.data(withJSONObject: ["text": text]), as: UTF8.self)
            try expectRefused(desk.send("POST", "/api/rooms/1/messages", body), 400, naming: "'text'", text.debugDescription)
            let room = String(decoding: try JSONSerialization.data(withJSONObject: ["name": text]), as: UTF8.self)
            try expectRefused(desk.send("POST", "/api/rooms", room), 400, naming: "'name'", text.debugDescription)
        }
        let multiline = "line one\n\tline two"
        #expect(try desk.send("POST", "/api/rooms/1/messages",
                              String(decoding: try JSONSerialization.data(withJSONObject: ["text": multiline]), as: UTF8.self)).status == 201)
    }

    @Test func overlongNamesAreRefusedBeforeAnyWork() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        let long = String(repeating: "a", count: 10_000)
        let register = try desk.stack.json("POST", "/api/users", ["username": long, "password": ResponderStack.testPassword])
        try expectRefused(register, 400, naming: "'username'", "10k username")
        let login = try desk.stack.json("POST", "/api/session", ["username": long, "password": ResponderStack.testPassword])
        #expect(login.status == 401 || login.status == 400, "\(login)")
        #expect(try login.json()["error"] != nil)
        let room = try desk.send("POST", "/api/rooms", String(decoding: try JSONSerialization.data(withJSONObject: ["name": long]), as: UTF8.self))
        try expectRefused(room, 400, naming: "'name'", "10k room name")
        // Lengths count Unicode scalars: 70 combining marks on one letter are 71, not 1.
        let stacked = "e" + String(repeating: "\u{301}", count: 70)
        let stackedRoom = try desk.send("POST", "/api/rooms", String(decoding: try JSONSerialization.data(withJSONObject: ["name": stacked]), as: UTF8.self))
        try expectRefused(stackedRoom, 400, naming: "'name'", "combining marks")
        #expect(try desk.stack.json("POST", "/api/users", ["username": "crlf", "password": "\r\n\r\n\r\n\r\n"]).status == 201,
                "eight characters are a valid password, even as four CRLF clusters")
        let trace = try desk.stack.request("TRACE", "/api/health")
        try expectRefused(trace, 405, naming: "method not allowed", "TRACE")
        #expect(trace.header("allow") != nil)
        let bigHeader = try desk.stack.request("GET", "/api/health", headers: ["X-Junk": String(repeating: "j", count: 64_000)])
        #expect(bigHeader.status == 400 || bigHeader.status == 431 || bigHeader.status == 494, "\(bigHeader)")
        #expect(bigHeader.header("content-type")?.hasPrefix("application/json") == true, "\(bigHeader)")
    }

    @Test func sqlMetacharactersAreKeptAsSentInEveryField() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        let sql = #"x'); DROP TABLE message; -- " OR 1=1 /* \ %_"#
        let password = "pw" + sql
        #expect(try desk.stack.json("POST", "/api/users", ["username": "bob", "password": password]).status == 201)
        #expect(try desk.stack.json("POST", "/api/session", ["username": "bob", "password": password]).status == 200)
        #expect(try desk.stack.json("POST", "/api/session", ["username": "bob' OR '1'='1", "password": password]).status == 401)
        let room = try desk.send("POST", "/api/rooms", String(decoding: try JSONSerialization.data(withJSONObject: ["name": sql]), as: UTF8.self))
        #expect(room.status == 201, "\(room)")
        let roomID = try #require(try room.json()["id"] as? Int)
        let posted = try desk.send("POST", "/api/rooms/\(roomID)/messages",
                                   String(decoding: try JSONSerialization.data(withJSONObject: ["text": sql]), as: UTF8.self))
        #expect(posted.status == 201)
        let messages = try JSONSerialization.jsonObject(with: Data(desk.send("GET", "/api/rooms/\(roomID)/messages", []).body)) as? [[String: Any]]
        #expect(messages?.map { $0["text"] as? String } == [sql])
        let rooms = try JSONSerialization.jsonObject(with: Data(desk.send("GET", "/api/rooms", []).body)) as? [[String: Any]]
        #expect(rooms?.contains { $0["name"] as? String == sql } == true)
        let order = try desk.send("POST", "/api/orders", #"{"order":"buy","price":1}"#,
                                  headers: desk.alice.merging(["Idempotency-Key": sql]) { $1 })
        #expect(order.status == 200 || order.status == 400, "\(order)")
        let database = try DatabaseQueue(path: desk.stack.databasePath)
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM message") } ?? 0 >= 1, "the table is still there")
    }

    @Test func pathsThatTryToLeaveTheirPlaceAreNotFound() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        for path in ["/api/rooms/../users", "/api/rooms/1/../../users", "/api/rooms/%2e%2e%2fusers/messages", "/api/rooms/1%2f..%2f2/messages",
                     "/api/rooms/1%00/messages", "/api/rooms/-1/messages", "/api/rooms/99999999999999999999999/messages"] {
            let answer = try desk.send("GET", path, [])
            #expect([400, 404].contains(answer.status), "\(path): \(answer)")
            #expect((try? answer.json())?["error"] != nil, "\(path): \(answer)")
        }
        // nginx resolves these to paths outside /api, under the page's root, where there is no such file.
        for path in ["/api/orders/..%2f..%2f..%2fetc%2fpasswd", "/api/../etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"] {
            let answer = try desk.stack.request("GET", path)
            #expect(answer.status == 404 || answer.status == 400, "\(path): \(answer)")
            #expect(!String(decoding: answer.body, as: UTF8.self).contains("root:"), "\(path): nginx serves nothing outside its root")
        }
    }

    @Test func aStockCodeCannotChangeTheQuoteURL() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        for command in ["/stock=aapl.us&s=msft.us", "/stock=aapl.us#x", "/stock=../../x", "/stock=aapl.us%26f=x", "/stock=http://evil.example/",
                        "/stock=aapl.us\nHost: evil"] {
            let body = String(decoding: try JSONSerialization.data(withJSONObject: ["text": command]), as: UTF8.self)
            let answer = try desk.send("POST", "/api/rooms/1/messages", body)
            #expect(answer.status == 202 || answer.status == 400, "\(command.debugDescription): \(answer)")
        }
        let database = try DatabaseQueue(path: desk.stack.databasePath)
        let commands = try database.read { try String.fetchAll($0, sql: "SELECT command FROM job") }
        // Queued as sent: the bot reads the code and refuses what is not one (StockBotProcessTests).
        #expect(commands.allSatisfy { $0.hasPrefix("/stock=") })
    }

    @Test func anotherUsersCookieOrATamperedOneGetsNoAccess() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        try desk.stack.register("bob")
        let bobCookie = try desk.stack.login("bob")
        let aliceCookie = try desk.stack.login("alice")
        func whoAmI(_ cookie: String) throws -> HTTPResult { try desk.stack.request("GET", "/api/session", headers: ["Cookie": cookie]) }
        #expect(try whoAmI(bobCookie).json()["username"] as? String == "bob")
        let name = String(bobCookie.split(separator: "=", maxSplits: 1)[0])
        let value = String(bobCookie.split(separator: "=", maxSplits: 1)[1])
        let aliceValue = String(aliceCookie.split(separator: "=", maxSplits: 1)[1])
        // Alice's session id with Bob's secret, one character changed, truncated, or junk.
        let bobsSecret = value.split(separator: ".")[1]
        let aliceIDWithBobsSecret = "\(aliceValue.split(separator: ".")[0]).\(bobsSecret)"
        let flipped = String(value.dropLast()) + (value.last == "A" ? "B" : "A")
        let forgeries: [String] = [aliceIDWithBobsSecret, flipped, String(value.dropLast(5)), "", "1.x", "0.\(bobsSecret)",
                                   String(repeating: "A", count: 3000)]
        for forged in forgeries {
            let answer = try whoAmI("\(name)=\(forged)")
            #expect(answer.status == 401, "\(forged.prefix(40)): \(answer)")
            #expect(try answer.json()["error"] != nil)
        }
    }
}
