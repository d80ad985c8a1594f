import Foundation
import GRDB
import Testing
import TestSupport

/// The database's disk fills up, or fails and turns read-only, under a running responder.
@Suite(.serialized, .enabled(if: isRoot, "mounts file systems in a mount namespace of its own"))
struct DiskFaultTests {
    @Test func aFullDiskAnswers503NamingItLosesNothingAndRecovers() throws {
        let stack = try ResponderStack.tradedeskOnSmallDisk(kibibytes: 4096, environment: Writer.environment)
        defer { stack.stop() }
        let alice = try Writer(stack)
        let post = alice.post, order = alice.order

        let filler = stack.privateDisk + "/filler"
        try fill(filler)

        let refusedPost = try post("while full")
        #expect(refusedPost.status == 503)
        #expect(try (refusedPost.json()["error"] as? String)?.contains("the database disk is full") == true, "\(refusedPost)")
        #expect(refusedPost.header("retry-after") == "5")
        // The first order is taken, but its batch is not sent: the history could not record it.
        let notSent = try order()
        #expect(notSent.status == 503)
        #expect(try (notSent.json()["error"] as? String)?.contains("not sent: the database disk is full") == true, "\(notSent)")
        let notSentID = try #require(try notSent.json()["id"] as? Int)
        // Then no order is taken until the history has caught up.
        let refusedOrder = try order()
        #expect(refusedOrder.status == 503)
        #expect(try (refusedOrder.json()["error"] as? String)?.contains("the database disk is full: the order was not accepted") == true,
                "\(refusedOrder)")
        let refusedUser = try stack.json("POST", "/api/users", ["username": "bob", "password": ResponderStack.testPassword])
        #expect(refusedUser.status == 503)
        #expect(try (refusedUser.json()["error"] as? String)?.contains("disk is full") == true, "\(refusedUser)")
        #expect(try alice.texts() == ["before"], "reads go on")
        let health = try stack.request("GET", "/api/health").json()
        #expect(health["status"] as? String == "degraded")
        #expect(health["database"] as? String == "the database disk is full")
        #expect(stack.responder.poll() == nil, "the responder is still running")

        try FileManager.default.removeItem(atPath: filler)

        #expect(try post("after").status == 201)
        // The order history writes what it kept, then takes orders again.
        #expect(try eventually(timeout: .seconds(10)) { try order().status == 200 })
        #expect(try stack.request("GET", "/api/health").json()["status"] as? String == "ok")
        #expect(try alice.texts() == ["before", "after"])
        let orders = try alice.orders()
        #expect(orders.allSatisfy { $0["status"] as? String != "pending" }, "every order has a final status: \(orders)")
        let recorded = try #require(orders.first { $0["id"] as? Int == notSentID })
        #expect(recorded["status"] as? String == "failed")
        #expect((recorded["reason"] as? String)?.contains("not sent: the database disk is full") == true, "\(recorded)")
        #expect(try integrity(stack) == "ok")
    }

    /// Posts that arrive together on a full disk share one commit, which fails: every poster gets
    /// the 503 a lone post gets, none of the messages is saved, and all are saved once space is back.
    @Test func postsArrivingTogetherOnAFullDiskAreEachAnswered503AndNoneIsSaved() throws {
        let stack = try ResponderStack.tradedeskOnSmallDisk(kibibytes: 4096, environment: Writer.environment.merging(["MESSAGE_BURST": "100"]) { $1 })
        defer { stack.stop() }
        let alice = try Writer(stack)
        let filler = stack.privateDisk + "/filler"
        try fill(filler)

        let texts = (1...10).map { "together \($0)" }
        let posters = try texts.map { text in
            try stack.open("POST", "/api/rooms/1/messages", headers: alice.auth, body: Array(try JSONSerialization.data(withJSONObject: ["text": text])))
        }
        for poster in posters {
            let answer = try poster.readResult(timeout: .seconds(15))
            #expect(answer.status == 503, "\(answer)")
            #expect(try (answer.json()["error"] as? String) == "the database disk is full: nothing was saved; retry later", "\(answer)")
            #expect(answer.header("retry-after") == "5")
        }
        #expect(try alice.texts() == ["before"], "nothing of the group was saved")

        try FileManager.default.removeItem(atPath: filler)
        for text in texts { #expect(try alice.post(text).status == 201) }
        #expect(try alice.texts() == ["before"] + texts)
        #expect(try integrity(stack) == "ok")
    }

    /// A failing disk shows as ext4 meeting an error and turning itself read-only (errors=remount-ro)
    /// under the running responder. Writes then get 503, reads go on, nothing is lost; the operator
    /// stops the responder, runs fsck and starts it again (the kernel will not make a file system
    /// with an aborted journal writable while files on it are open).
    @Test func aDiskThatTurnsReadOnlyAnswers503LosesNothingAndServesAfterRepair() throws {
        let stack = try ResponderStack.tradedeskOnExt4Disk(environment: Writer.environment)
        defer { stack.stop() }
        let alice = try Writer(stack)
        let post = alice.post, order = alice.order

        try stack.failExt4Disk()

        let refusedPost = try post("while read-only")
        #expect(refusedPost.status == 503, "\(refusedPost)")
        #expect(try (refusedPost.json()["error"] as? String)?.hasSuffix("nothing was saved; retry later") == true, "\(refusedPost)")
        #expect(try order().status == 503)
        #expect(try alice.texts() == ["before"], "reads go on")
        #expect(try stack.request("GET", "/api/health").json()["status"] as? String == "degraded")
        #expect(stack.responder.poll() == nil, "the responder is still running")

        stack.responder.stop()
        #expect(try [0, 1].contains(stack.repairExt4Disk()), "fsck: \(String(describing: try? String(contentsOfFile: stack.directory.file("fsck.log"), encoding: .utf8)))")
        try stack.restartResponder()

        let after = try post("after")
        #expect(after.status == 201, "\(after) \(stack.responder.output)")
        #expect(try order().status == 200)
        #expect(try alice.texts() == ["before", "after"])
        let orders = try alice.orders()
        #expect(orders.allSatisfy { $0["status"] as? String != "pending" }, "every order has a final status: \(orders)")
        #expect(try integrity(stack) == "ok")
    }

    // MARK: An order's outcome is told only once it is on disk

    /// The disk fills while a batch is executing: its clients are held while the outcome cannot be
    /// written (and reads show the order still pending); once space is back the outcome is written,
    /// then told: 200 with the very outcome the history holds.
    @Test func clientsOfADecidedBatchStayHeldWhileTheDiskIsFullAndHearTheOutcomeOnceItIsWritten() throws {
        let desk = try HeldBatch(durabilityTimeout: 60)
        defer { desk.stack.stop() }
        let started = ContinuousClock.now
        try fill(desk.filler)
        // The batch is executed (EXECUTION_LATENCY_MS) and decided, but its outcome cannot be recorded.
        #expect(try eventually(timeout: .seconds(10)) { try desk.orderFigures()["outcomes_not_recorded"] == 2 })
        #expect(desk.clients.allSatisfy { !$0.hasAnswer(within: .seconds(2)) }, "nobody hears an outcome that is not on disk")
        #expect(ContinuousClock.now - started > .seconds(2))
        for id in desk.ids {
            let read = try desk.stack.request("GET", "/api/orders/\(id)", headers: desk.auth).json()
            #expect(read["status"] as? String == "pending", "a read shows what is on disk: \(read)")
        }
        #expect(try desk.stack.request("GET", "/api/health").json()["status"] as? String == "degraded")
        #expect(try desk.storedStatuses() == Dictionary(uniqueKeysWithValues: desk.ids.map { ($0, "pending") }))

        try FileManager.default.removeItem(atPath: desk.filler)
        var told: Set<Int64> = []
        for client in desk.clients {
            let answer = try client.readResult(timeout: .seconds(15))
            #expect(answer.status == 200, "\(answer)")
            #expect(try answer.json()["status"] as? String == "approved", "\(answer)")
            (try answer.json()["id"] as? Int).map { _ = told.insert(Int64($0)) }
        }
        #expect(told == Set(desk.ids), "each client hears its own order")
        #expect(try desk.storedStatuses() == Dictionary(uniqueKeysWithValues: desk.ids.map { ($0, "approved") }), "what was told is what is kept")
        #expect(try desk.storedBatchStatuses() == ["decided"])
        #expect(try desk.orderFigures()["outcomes_not_recorded"] == 0)
        #expect(try integrity(desk.stack) == "ok")
    }

    /// The disk stays full past OUTCOME_DURABILITY_TIMEOUT: the clients get 503 with their order's id
    /// (never the outcome); once space is back the history catches up and GET /api/orders/{id} shows
    /// the outcome the execution server decided.
    @Test func pastTheBoundClientsGet503WithTheOrderIDAndReadTheOutcomeOnceItIsWritten() throws {
        let desk = try HeldBatch(durabilityTimeout: 2)
        defer { desk.stack.stop() }
        try fill(desk.filler)
        let filled = ContinuousClock.now
        for (id, answer) in try desk.unrecordedAnswers() {
            let error = try answer.json()["error"] as? String ?? ""
            #expect(error.contains("not recorded yet") && error.contains("the database disk is full"), "\(error)")
            #expect(answer.header("retry-after") == "5")
            #expect(!error.contains("approved"), "the outcome itself is not told: \(error) (order \(id))")
        }
        // Execution (1.5 s after it was sent, part of it before the fill) and the 2 s bound.
        #expect(ContinuousClock.now - filled > .seconds(2))
        for id in desk.ids {
            #expect(try desk.stack.request("GET", "/api/orders/\(id)", headers: desk.auth).json()["status"] as? String == "pending")
        }

        try FileManager.default.removeItem(atPath: desk.filler)
        #expect(try eventually(timeout: .seconds(10)) {
            try desk.ids.allSatisfy { try desk.stack.request("GET", "/api/orders/\($0)", headers: desk.auth).json()["status"] as? String == "approved" }
        })
        #expect(try desk.storedStatuses() == Dictionary(uniqueKeysWithValues: desk.ids.map { ($0, "approved") }))
        #expect(try desk.storedBatchStatuses() == ["decided"])
        #expect(try integrity(desk.stack) == "ok")
    }

    /// SIGTERM while a decided batch's outcome cannot be written: its clients get 503 with the order
    /// id, not the outcome, and the responder exits 0.
    @Test func aDrainWhileOutcomesAreNotRecordedAnswers503WithTheOrderID() throws {
        let desk = try HeldBatch(durabilityTimeout: 60)
        defer { desk.stack.stop() }
        try fill(desk.filler)
        #expect(try eventually(timeout: .seconds(10)) { try desk.orderFigures()["outcomes_not_recorded"] == 2 })
        desk.stack.responder.signal(SIGTERM)
        _ = try desk.unrecordedAnswers()
        #expect(desk.stack.responder.wait(timeout: .seconds(20)) == 0, "\(desk.stack.responder.output)")
    }

    /// alice on a 4 MiB disk with two orders held in a sent batch (BATCH_SIZE 2) that the mock takes
    /// 1.5 s to execute: a test fills the disk in that window.
    private struct HeldBatch {
        let stack: ResponderStack
        let auth: [String: String]
        let clients: [HTTPConnection]
        let ids: [Int64]
        var filler: String { stack.privateDisk + "/filler" }

        init(durabilityTimeout seconds: Int) throws {
            stack = try ResponderStack.tradedeskOnSmallDisk(kibibytes: 4096, environment: [
                "REGISTRATION": "open", "BATCH_SIZE": "2", "EXECUTION_LATENCY_MS": "1500",
                "OUTCOME_DURABILITY_TIMEOUT": "\(seconds)",
            ])
            try stack.register("alice")
            let stack = stack
            let auth = ["Authorization": "Bearer \(try stack.createToken("alice"))", "Content-Type": "application/json"]
            self.auth = auth
            let body = Array(#"{"order":"buy","price":2.5}"#.utf8)
            clients = try (0..<2).map { _ in try stack.open("POST", "/api/orders", headers: auth, body: body) }
            // The batch is on disk as sent before the execution call.
            var sent: [Int64] = []
            _ = eventually(timeout: .seconds(10)) {
                sent = ((try? privateSQL(stack, """
                    SELECT trade_order.id FROM trade_order JOIN batch ON batch.id = batch_id WHERE batch.status = 'sent' ORDER BY trade_order.id
                    """)) ?? []).compactMap { Int64($0) }
                return sent.count == 2
            }
            guard sent.count == 2 else {
                stack.stop()
                throw TestFailure("the batch was not sent: \(stack.responder.output)")
            }
            ids = sent
        }

        func orderFigures() throws -> [String: Int] {
            (try stack.request("GET", "/api/health").json()["orders"] as? [String: Int]) ?? [:]
        }

        /// Reads each client's answer, which must be 503 naming its own order, with where to read
        /// the outcome later; returns them by order id.
        func unrecordedAnswers() throws -> [Int64: HTTPResult] {
            var answers: [Int64: HTTPResult] = [:]
            for client in clients {
                let answer = try client.readResult(timeout: .seconds(15))
                #expect(answer.status == 503, "\(answer)")
                let id = Int64(try answer.json()["id"] as? Int ?? 0)
                #expect((try answer.json()["error"] as? String)?.contains("GET /api/orders/\(id)") == true, "\(answer)")
                answers[id] = answer
            }
            #expect(Set(answers.keys) == Set(ids), "each client gets its own order's id")
            return answers
        }

        /// Orders as the file holds them.
        func storedStatuses() throws -> [Int64: String] {
            Dictionary(uniqueKeysWithValues: try privateSQL(stack, "SELECT id || ' ' || status FROM trade_order").compactMap { line in
                let parts = line.split(separator: " ")
                return parts.count == 2 ? Int64(parts[0]).map { ($0, String(parts[1])) } : nil
            })
        }

        func storedBatchStatuses() throws -> [String] { try privateSQL(stack, "SELECT status FROM batch") }
    }

    /// alice, with a token, and what the tests write and read as her. Her first post ("before") and
    /// order are made when she is.
    private struct Writer {
        static let environment = ["REGISTRATION": "open", "BATCH_SIZE": "1"]
        let stack: ResponderStack
        let auth: [String: String]

        init(_ stack: ResponderStack) throws {
            self.stack = stack
            try stack.register("alice")
            auth = ["Authorization": "Bearer \(try stack.createToken("alice"))", "Content-Type": "application/json"]
            #expect(try post("before").status == 201)
            #expect(try order().status == 200)
        }

        func post(_ text: String) throws -> HTTPResult {
            try stack.request("POST", "/api/rooms/1/messages", headers: auth, body: Array(try JSONSerialization.data(withJSONObject: ["text": text])))
        }

        func order() throws -> HTTPResult {
            try stack.request("POST", "/api/orders", headers: auth, body: Array(#"{"order":"buy","price":2.5}"#.utf8))
        }

        func texts() throws -> [String]? {
            try (JSONSerialization.jsonObject(with: Data(stack.request("GET", "/api/rooms/1/messages", headers: auth).body)) as? [[String: Any]])?
                .compactMap { $0["text"] as? String }
        }

        func orders() throws -> [[String: Any]] {
            try #require(try JSONSerialization.jsonObject(with: Data(stack.request("GET", "/api/orders", headers: auth).body)) as? [[String: Any]])
        }
    }

    /// `PRAGMA integrity_check` of the database on the responder's private disk ("ok").
    private func integrity(_ stack: ResponderStack) throws -> String? {
        try privateSQL(stack, "PRAGMA integrity_check").first
    }
}

/// The lines `sqlite3` prints for `query` on the database on the responder's private disk, run in
/// the responder's mount namespace. (Opening `privateDisk + "/tradedesk.sqlite"` from the test does not
/// work: SQLite resolves the `/proc/PID/root` link to `/` and opens, or creates, an empty file in the
/// test's own namespace instead.)
private func privateSQL(_ stack: ResponderStack, _ query: String) throws -> [String] {
    let log = stack.directory.file("sqlite3-\(UUID().uuidString).log")
    defer { try? FileManager.default.removeItem(atPath: log) }
    let sqlite = try ChildProcess("/usr/bin/nsenter", ["--target", "\(stack.responder.pid)", "--mount", "--",
                                                       "sqlite3", "-batch", "-noheader", stack.directory.file("disk") + "/tradedesk.sqlite", query],
                                  logPath: log)
    guard sqlite.wait(timeout: .seconds(10)) == 0 else { throw TestFailure("sqlite3 \(query): \(sqlite.output)") }
    return sqlite.output.split(separator: "\n").map(String.init)
}

extension DiskFaultTests {
    /// Writes to `path` until the disk refuses another page.
    private func fill(_ path: String) throws {
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TestFailure("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x55, count: 4096)
        while true {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < chunk.count {
                guard written >= 0 || errno == ENOSPC else { throw TestFailure("filling \(path): \(String(cString: strerror(errno)))") }
                return
            }
        }
    }
}
