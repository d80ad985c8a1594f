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
        try DatabaseQueue(path: stack.privateDisk + "/tradedesk.sqlite").read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
    }

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
