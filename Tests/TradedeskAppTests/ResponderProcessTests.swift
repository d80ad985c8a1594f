import Foundation
import GRDB
import Testing
import TestSupport

/// The real `tradedesk serve` behind the real nginx.conf.
@Suite(.serialized)
struct ResponderProcessTests {
    private func startTradedesk() throws -> ResponderStack { try .tradedesk() }

    @Test func healthAnswersWithLiveFigures() throws {
        let stack = try startTradedesk()
        defer { stack.stop() }
        let health = try stack.request("GET", "/api/health")
        #expect(health.status == 200)
        let body = try health.json()
        #expect(body["status"] as? String == "ok")
        #expect(body["database"] as? String == "ok")
        #expect(body["held_requests"] as? Int == 0)
        #expect((body["requests_accepted"] as? Int ?? 0) >= 1)
        #expect(body["uptime_seconds"] is Double || body["uptime_seconds"] is Int)
        #expect(health.header("content-security-policy") != nil)
        // The access log line follows the answer, so it may land a moment later.
        #expect(eventually { stack.responder.output.contains("GET /api/health 200") }, "one access log line per request")
    }

    @Test func unknownRoutesAndMethodsAreJSONErrors() throws {
        let stack = try startTradedesk()
        defer { stack.stop() }
        let missing = try stack.request("GET", "/api/nothing/here")
        #expect(missing.status == 404)
        #expect(try missing.json()["error"] as? String == "no route for GET /api/nothing/here")
        // nginx refuses dot segments that climb above the root, before any routing.
        for path in ["/api/../../etc/passwd", "/api/%2e%2e/%2e%2e/etc/passwd"] {
            let traversal = try stack.request("GET", path)
            #expect(traversal.status == 400, "\(path)")
            #expect(try traversal.json()["error"] != nil, "\(path)")
        }
        let wrongMethod = try stack.request("POST", "/api/health")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("allow") == "GET")
    }

    @Test func servesThePageAtTheRoot() throws {
        let stack = try startTradedesk()
        defer { stack.stop() }
        let page = try stack.request("GET", "/")
        #expect(page.status == 200)
        #expect(page.header("content-type")?.hasPrefix("text/html") == true)
        #expect(page.text.contains("tradedesk"))
    }

    @Test func socketAndDatabaseAreNotWorldAccessible() throws {
        let stack = try startTradedesk()
        defer { stack.stop() }
        var info = stat()
        #expect(lstat(stack.socket, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660, "socket mode \(String(info.st_mode & 0o777, radix: 8))")
        if isRoot { #expect(info.st_gid == getgrnam("www-data").pointee.gr_gid) }
        #expect(stat(stack.directory.file("tradedesk.sqlite"), &info) == 0)
        #expect(info.st_mode & 0o007 == 0)
        let journal = try DatabaseQueue(path: stack.directory.file("tradedesk.sqlite"))
            .read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    @Test(arguments: [Int32(0), Int32(3)])
    func servesOnAnInheritedSocket(fd: Int32) throws {
        // systemd names the receiving process in LISTEN_PID; the shell execs, so its pid is tradedesk's.
        let stack: ResponderStack
        if fd == 3 {
            stack = try ResponderStack(executable: "/bin/sh", environment: ["LISTEN_FDS": "1"], inheritSocket: 3) { _, directory in
                ["-c", "LISTEN_PID=$$ exec \"$0\" serve --database \"$1\"", Paths.product("tradedesk"), directory.file("tradedesk.sqlite")]
            }
        } else {
            stack = try ResponderStack(executable: Paths.product("tradedesk"), inheritSocket: 0) { _, directory in
                ["serve", "--database", directory.file("tradedesk.sqlite")]
            }
        }
        defer { stack.stop() }
        #expect(eventually { (try? stack.request("GET", "/api/health").status) == 200 })
        #expect(stack.responder.output.contains("address=inherit"))
        stack.responder.signal(SIGTERM)
        #expect(stack.responder.wait(timeout: .seconds(5)) == 0)
        // An inherited socket belongs to whoever passed it: the responder leaves the path in place.
        #expect(FileManager.default.fileExists(atPath: stack.socket))
    }

    @Test func servesOnATCPPort() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fastCGIPort = try freePort()
        let responder = try ChildProcess(Paths.product("tradedesk"),
                                         ["serve", "--listen", "127.0.0.1:\(fastCGIPort)", "--database", directory.file("db.sqlite")],
                                         logPath: directory.file("responder.log"))
        defer { responder.stop() }
        #expect(eventually { responder.output.contains("address=127.0.0.1:\(fastCGIPort)") })
        let nginx = try Nginx(upstream: "127.0.0.1:\(fastCGIPort)", directory: directory)
        defer { nginx.stop() }
        let health = try HTTPClient.request(port: nginx.port, "GET", "/api/health")
        #expect(health.status == 200)
        #expect(try health.json()["status"] as? String == "ok")
    }

    @Test func sigtermStopsCleanlyWithExitZero() throws {
        let stack = try startTradedesk()
        defer { stack.stop() }
        #expect(try stack.request("GET", "/api/health").status == 200)
        stack.responder.signal(SIGTERM)
        #expect(stack.responder.wait(timeout: .seconds(5)) == 0)
        #expect(stack.responder.output.contains("stopped"))
        #expect(try stack.request("GET", "/api/health").status == 502)
    }

    @Test func aBadSettingStopsStartUpNamingIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let process = try ChildProcess(Paths.product("tradedesk"), ["serve", "--database", directory.file("db.sqlite")],
                                       environment: ["FCGI_LISTEN": "nowhere", "MAX_HELD_REQUESTS": "5"],
                                       logPath: directory.file("out.log"))
        #expect(process.wait(timeout: .seconds(10)) == 1)
        #expect(process.output.contains("FCGI_LISTEN: invalid listen address 'nowhere'"))

        let badNumber = try ChildProcess(Paths.product("tradedesk"), ["serve", "--listen", "unix:\(directory.file("s"))"],
                                         environment: ["MAX_HELD_REQUESTS": "lots"], logPath: directory.file("out2.log"))
        #expect(badNumber.wait(timeout: .seconds(10)) == 1)
        #expect(badNumber.output.contains("MAX_HELD_REQUESTS: 'lots' is not a whole number"))
    }

    /// A database that cannot be written at start-up (here its file system is read-only) is not
    /// an exit, which systemd would turn into a restart loop and nginx into a bare 502: every request
    /// is answered 503 naming the cause (but not the path), and once the file system is writable
    /// again the responder serves without a restart.
    @Test(.enabled(if: isRoot, "mounts in a mount namespace of its own"))
    func aReadOnlyDatabaseIsAnswered503UntilItIsWritableThenServes() throws {
        let stack = try ResponderStack.tradedeskOnReadOnlyDisk(environment: ["REGISTRATION": "open"])
        defer { stack.stop() }
        let cause = "the database cannot be opened for writing: the file is not writable: Read-only file system; retry shortly"
        for (method, path) in [("GET", "/api/health"), ("POST", "/api/users"), ("GET", "/api/rooms")] {
            let answer = try stack.request(method, path)
            #expect(answer.status == 503, "\(method) \(path)")
            #expect(answer.header("retry-after") == "2")
            #expect(try answer.json()["error"] as? String == cause, "\(answer)")
        }
        #expect(try stack.request("GET", "/index.html").status == 200)
        #expect(stack.responder.output.contains(
            "cannot open the database \(stack.directory.file("disk/tradedesk.sqlite")) for writing: the file is not writable: Read-only file system"),
                "\(stack.responder.output)")

        try stack.makeReadOnlyDiskWritable()
        #expect(eventually(timeout: .seconds(10)) { (try? stack.request("GET", "/api/health").status) == 200 })
        #expect(stack.responder.output.contains("the database is available; serving"))
        try stack.register("alice")
        let token = try stack.createToken("alice")
        let posted = try stack.json("POST", "/api/rooms/1/messages", ["text": "back"], headers: ["Authorization": "Bearer \(token)"])
        #expect(posted.status == 201, "\(posted)")
    }

    @Test func migrateRunsAloneAndReports() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let process = try ChildProcess(Paths.product("tradedesk"), ["migrate", "--database", directory.file("db.sqlite")],
                                       logPath: directory.file("out.log"))
        #expect(process.wait(timeout: .seconds(10)) == 0)
        #expect(process.output.contains("db.sqlite: applied"))
        #expect(FileManager.default.fileExists(atPath: directory.file("db.sqlite")))
    }
}
