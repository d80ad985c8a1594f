import Foundation
import Testing
import TestSupport

/// The order gateway through the real nginx in front of `tradedesk`, with the shipped mock execution server.
@Suite(.serialized)
struct OrdersAPITests {
    /// A stack with registration open, one user "alice" and her bearer token.
    struct Desk {
        let stack: ResponderStack
        let token: String

        init(_ environment: [String: String] = [:], arguments: [String] = []) throws {
            stack = try ResponderStack.tradedesk(environment: ["REGISTRATION": "open"].merging(environment) { $1 }, arguments: arguments)
            try stack.register("alice")
            token = try stack.createToken("alice")
        }

        var auth: [String: String] { ["Authorization": "Bearer \(token)", "Content-Type": "application/json"] }

        /// Sends an order without waiting for its answer.
        func send(_ side: String = "buy", _ price: String = "1.5", key: String? = nil) throws -> HTTPConnection {
            var headers = auth
            headers["Idempotency-Key"] = key
            return try stack.open("POST", "/api/orders", headers: headers, body: Array("{\"order\":\"\(side)\",\"price\":\(price)}".utf8))
        }

        func health() throws -> [String: Any] { try stack.request("GET", "/api/health").json() }
        func orderFigures() throws -> [String: Int] { (try health()["orders"] as? [String: Int]) ?? [:] }

        func get(_ path: String) throws -> HTTPResult { try stack.request("GET", path, headers: auth) }
    }

    @Test func tenOrdersAreHeldAndAnsweredTogetherFromOneExecutionCall() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        let prices = ["0.1", "1.000001", "123456.5", "1.0842", "2", "3", "4", "5", "6"]
        let first = try prices.enumerated().map { try desk.send($0.offset % 2 == 0 ? "buy" : "sell", $0.element) }
        #expect(try eventually { try desk.orderFigures()["pending"] == 9 })
        // Nine are held: nobody is answered.
        #expect(first.allSatisfy { !$0.hasAnswer(within: .milliseconds(1500)) })

        let tenth = try desk.send("sell", "7.25")
        var answers: [[String: Any]] = []
        for connection in first + [tenth] {
            let answer = try connection.readResult()
            #expect(answer.status == 200, "\(answer)")
            answers.append(try answer.json())
        }
        #expect(Set(answers.compactMap { $0["id"] as? Int }).count == 10, "each client gets its own order")
        #expect(Set(answers.compactMap { $0["batch"] as? Int }).count == 1, "one batch")
        #expect(answers.allSatisfy { $0["status"] as? String == "approved" && $0["executed_at"] is String && $0["submitted_at"] is String })
        for (answer, (index, price)) in zip(answers, (prices + ["7.25"]).enumerated()) {
            #expect("\(answer["price"]!)" == price || (answer["price"] as? Double) == Double(price), "price \(price)")
            #expect(answer["order"] as? String == (index % 2 == 0 && index < 9 ? "buy" : "sell"))
        }
        let figures = try desk.orderFigures()
        #expect(figures["batches_executed"] == 1)
        #expect(figures["pending"] == 0)
        #expect(desk.stack.responder.output.components(separatedBy: "batch executed").count == 2, "one execution call")
    }

    @Test func pricesEchoExactlyAsTheyWereSent() throws {
        let desk = try Desk(["BATCH_SIZE": "3"])
        defer { desk.stack.stop() }
        let sent = ["0.1", "1.000001", "123456.5"]
        let connections = try sent.map { try desk.send("buy", $0) }
        let bodies = try connections.map { try $0.readResult().text }
        for (body, price) in zip(bodies, sent) {
            #expect(body.contains("\"price\":\(price),"), "\(body)")
        }
    }

    @Test func batchesOverlapWhileTheExecutionServerIsSlow() throws {
        let desk = try Desk(["BATCH_SIZE": "2", "EXECUTION_LATENCY_MS": "1500"])
        defer { desk.stack.stop() }
        let start = ContinuousClock.now
        let firstBatch = try (0..<2).map { _ in try desk.send() }
        #expect(try eventually { try desk.orderFigures()["batches_in_flight"] == 1 })
        let secondBatch = try (0..<2).map { _ in try desk.send() }
        #expect(try eventually { try desk.orderFigures()["batches_in_flight"] == 2 })
        // The responder answers others while both execute.
        #expect(try desk.stack.request("GET", "/api/health").status == 200)
        for connection in firstBatch + secondBatch { #expect(try connection.readResult().status == 200) }
        #expect(ContinuousClock.now - start < .milliseconds(2800), "two batches of 1.5 s took \(ContinuousClock.now - start)")
    }

    @Test func pricesAboveTheLimitAreRejected() throws {
        // Flags work as the variables do (and win over them).
        let desk = try Desk(["BATCH_SIZE": "7", "EXECUTION_REJECT_ABOVE": "100"], arguments: ["--batch-size", "2"])
        defer { desk.stack.stop() }
        let cheap = try desk.send("buy", "99.99")
        let dear = try desk.send("buy", "100.01")
        #expect(try cheap.readResult().json()["status"] as? String == "approved")
        #expect(try dear.readResult().json()["status"] as? String == "rejected")
    }

    @Test func aFailedExecutionAnswers502ToTheWholeBatchAndTheNextBatchWorks() throws {
        let desk = try Desk(["BATCH_SIZE": "3", "EXECUTION_FAULTS": "fail"])
        defer { desk.stack.stop() }
        for connection in try (0..<3).map({ _ in try desk.send() }) {
            let answer = try connection.readResult()
            #expect(answer.status == 502)
            let body = try answer.json()
            #expect((body["error"] as? String)?.contains("execution failed") == true)
            let id = try #require(body["id"] as? Int)
            #expect(try desk.get("/api/orders/\(id)").json()["status"] as? String == "failed")
        }
        try expectTheNextBatchIsApproved(desk, size: 3)
        #expect(try desk.orderFigures()["batches_failed"] == 1)
    }

    @Test func aHungExecutionTimesOutWith502AndTheNextBatchWorks() throws {
        let desk = try Desk(["BATCH_SIZE": "2", "EXECUTION_FAULTS": "hang", "EXECUTION_TIMEOUT": "0.5"])
        defer { desk.stack.stop() }
        for connection in try (0..<2).map({ _ in try desk.send() }) {
            let answer = try connection.readResult()
            #expect(answer.status == 502)
            #expect(try (answer.json()["error"] as? String)?.contains("EXECUTION_TIMEOUT") == true)
        }
        try expectTheNextBatchIsApproved(desk, size: 2)
    }

    @Test func everyBatchFailsAtAFailRateOfOne() throws {
        let desk = try Desk(["BATCH_SIZE": "2", "EXECUTION_FAIL_RATE": "1"])
        defer { desk.stack.stop() }
        for _ in 0..<2 {
            for connection in try (0..<2).map({ _ in try desk.send() }) { #expect(try connection.readResult().status == 502) }
        }
        #expect(try desk.orderFigures()["batches_failed"] == 2)
    }

    private func expectTheNextBatchIsApproved(_ desk: Desk, size: Int) throws {
        for connection in try (0..<size).map({ _ in try desk.send() }) {
            let answer = try connection.readResult()
            #expect(answer.status == 200)
            #expect(try answer.json()["status"] as? String == "approved")
        }
    }

    @Test func anOrderWaitingTooLongIsWithdrawnWith504() throws {
        let desk = try Desk(["ORDER_TIMEOUT": "1"])
        defer { desk.stack.stop() }
        let answer = try desk.send().readResult()
        #expect(answer.status == 504)
        let body = try answer.json()
        #expect((body["error"] as? String)?.contains("withdrawn") == true)
        let id = try #require(body["id"] as? Int)
        let stored = try desk.get("/api/orders/\(id)").json()
        #expect(stored["status"] as? String == "withdrawn")
        #expect(stored["batch"] is NSNull)
    }

    @Test func lingerExecutesAPartialBatch() throws {
        let desk = try Desk(["BATCH_LINGER": "0.5"])
        defer { desk.stack.stop() }
        let connections = try (0..<3).map { _ in try desk.send() }
        let answers = try connections.map { try $0.readResult().json() }
        #expect(answers.allSatisfy { $0["status"] as? String == "approved" })
        #expect(Set(answers.compactMap { $0["batch"] as? Int }).count == 1)
    }

    @Test func aClientThatLeavesBeforeDispatchHasItsOrderWithdrawn() throws {
        let desk = try Desk(["BATCH_SIZE": "3"])
        defer { desk.stack.stop() }
        let leaving = try desk.send("buy", "9.99")
        #expect(try eventually { try desk.orderFigures()["pending"] == 1 })
        leaving.close()
        #expect(try eventually { try desk.orderFigures()["withdrawn"] == 1 })
        #expect(try desk.orderFigures()["pending"] == 0)

        // The next three form a batch without it.
        let staying = try (0..<3).map { _ in try desk.send("sell", "1.25") }
        let answers = try staying.map { try $0.readResult().json() }
        #expect(answers.allSatisfy { $0["status"] as? String == "approved" && $0["order"] as? String == "sell" })
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(desk.get("/api/orders").body)) as? [[String: Any]])
        #expect(listed.count == 4)
        let withdrawn = try #require(listed.first { $0["status"] as? String == "withdrawn" })
        #expect(withdrawn["price"] as? Double == 9.99)
        #expect((withdrawn["reason"] as? String)?.contains("disconnected") == true)
        #expect(listed.map { $0["id"] as! Int } == listed.map { $0["id"] as! Int }.sorted(by: >), "newest first")
    }

    /// With kept connections (nginx.conf), the connection of a held order has often served requests
    /// before; nginx still closes it when the order's client goes away. Each try first makes nginx
    /// fill its pools, and the access line of the withdrawn order says whether it came on a kept
    /// connection; some try must have.
    @Test func aClientThatLeavesOnAKeptConnectionHasItsOrderWithdrawn() throws {
        let desk = try Desk(["BATCH_SIZE": "3"])
        defer { desk.stack.stop() }
        func withdrawnOnAKeptConnection() -> Bool {
            desk.stack.responder.output.split(separator: "\n").contains {
                $0.contains("POST /api/orders client-gone") && $0.contains("connection=kept")
            }
        }
        for attempt in 1...5 {
            for _ in 0..<10 { _ = try desk.stack.request("GET", "/api/health") }
            let leaving = try desk.send("buy", "9.99")
            #expect(try eventually { try desk.orderFigures()["pending"] == 1 })
            leaving.close()
            #expect(try eventually { try desk.orderFigures()["withdrawn"] == attempt })
            #expect(try desk.orderFigures()["pending"] == 0)
            if eventually(timeout: .seconds(2), withdrawnOnAKeptConnection) { break }
        }
        #expect(withdrawnOnAKeptConnection(), "no withdrawn order came on a kept connection")
        // The next three, on whatever connections nginx picks, form a batch and are executed.
        let answers = try (0..<3).map { _ in try desk.send("sell", "1.25") }.map { try $0.readResult().json() }
        #expect(answers.allSatisfy { $0["status"] as? String == "approved" })
    }

    @Test func idempotentRetriesGetTheSameOrder() throws {
        let desk = try Desk(["BATCH_SIZE": "2"])
        defer { desk.stack.stop() }
        let original = try desk.send("buy", "2.5", key: "order-42")
        #expect(try eventually { try desk.orderFigures()["pending"] == 1 })
        let retryWhilePending = try desk.send("buy", "2.5", key: "order-42")
        #expect(!retryWhilePending.hasAnswer(within: .milliseconds(300)), "the retry waits with the original")
        #expect(try desk.orderFigures()["pending"] == 1, "the retry is not a new order")
        let reused = try desk.send("sell", "2.5", key: "order-42").readResult()
        #expect(reused.status == 422)
        #expect(try (reused.json()["error"] as? String)?.contains("Idempotency-Key") == true)

        let filler = try desk.send()
        let first = try original.readResult().json()
        let second = try retryWhilePending.readResult().json()
        #expect(first["id"] as? Int == second["id"] as? Int)
        #expect(first["status"] as? String == "approved")
        #expect(try filler.readResult().status == 200)

        // Decided: the same key answers at once with the stored order.
        let later = try desk.send("buy", "2.5", key: "order-42").readResult()
        #expect(later.status == 200)
        #expect(try later.json()["id"] as? Int == first["id"] as? Int)
        let badKey = try desk.send("buy", "2.5", key: String(repeating: "k", count: 300)).readResult()
        #expect(badKey.status == 400)
    }

    @Test func badOrdersAreRefusedNamingTheField() throws {
        let desk = try Desk()
        defer { desk.stack.stop() }
        for (body, message) in [
            (#"{"price":1}"#, "missing field 'order'"),
            (#"{"order":"buy"}"#, "missing field 'price'"),
            (#"{"order":"hold","price":1}"#, "field 'order' must be \"buy\" or \"sell\""),
            (#"{"order":1,"price":1}"#, "field 'order' must be a string"),
            (#"{"order":"buy","price":"1.5"}"#, "field 'price' must be a number"),
            (#"{"order":"buy","price":0}"#, "field 'price' must be greater than 0"),
            (#"{"order":"buy","price":-0}"#, "field 'price' must be greater than 0"),
            (#"{"order":"buy","price":-3}"#, "field 'price' must be greater than 0"),
            (#"{"order":"buy","price":1.1234567}"#, "field 'price' must have at most 6 digits after the decimal point"),
            (#"{"order":"buy","price":1,"qty":5}"#, "unknown field 'qty': an order has only 'order' and 'price'"),
            (#"{"order":"buy","price":1e400}"#, "the request body is not valid JSON: number 1e400 is out of range"),
        ] {
            let answer = try desk.stack.request("POST", "/api/orders", headers: desk.auth, body: Array(body.utf8))
            #expect(answer.status == 400, "\(body)")
            #expect(try answer.json()["error"] as? String == message, "\(body): \(answer)")
        }
        let anonymous = try desk.stack.json("POST", "/api/orders", ["order": "buy", "price": 1])
        #expect(anonymous.status == 401)
        #expect(try desk.orderFigures()["pending"] == 0, "nothing bad was queued")
    }

    @Test func ordersAreVisibleOnlyToTheirOwner() throws {
        let desk = try Desk(["BATCH_SIZE": "1"])
        defer { desk.stack.stop() }
        let id = try #require(try desk.send().readResult().json()["id"] as? Int)
        #expect(try desk.get("/api/orders/\(id)").status == 200)
        try desk.stack.register("bob")
        let bob = try desk.stack.createToken("bob")
        let asBob = try desk.stack.request("GET", "/api/orders/\(id)", headers: ["Authorization": "Bearer \(bob)"])
        #expect(asBob.status == 404)
        #expect(try desk.get("/api/orders/999999").status == 404)
        #expect(try desk.get("/api/orders?limit=0").status == 400)
        #expect(try desk.get("/api/orders?limit=abc").status == 400)
    }

    @Test func pastTheHeldRequestCapOrdersGet503() throws {
        let desk = try Desk(["MAX_HELD_REQUESTS": "3"])
        defer { desk.stack.stop() }
        let held = try (0..<3).map { _ in try desk.send() }
        #expect(try eventually { try desk.orderFigures()["pending"] == 3 })
        let refused = try desk.send().readResult()
        #expect(refused.status == 503)
        #expect(refused.header("retry-after") == "1")
        #expect(try desk.orderFigures()["pending"] == 3, "the refused order was never queued")
        _ = held
    }

    @Test func afterAKillNoOrderIsLeftInLimbo() throws {
        let desk = try Desk(["BATCH_SIZE": "2", "EXECUTION_LATENCY_MS": "30000", "EXECUTION_TIMEOUT": "60"])
        defer { desk.stack.stop() }
        let inFlight = try (0..<2).map { _ in try desk.send("buy", "1") }
        #expect(try eventually { try desk.orderFigures()["batches_in_flight"] == 1 })
        let unsent = try desk.send("sell", "2")
        #expect(try eventually { try desk.orderFigures()["pending"] == 1 })
        // The pending order reaches the history within a few milliseconds (group commit).
        #expect(try eventually { try desk.stack.rows("SELECT COUNT(*) FROM trade_order") == [["3"]] })

        desk.stack.responder.signal(SIGKILL)
        _ = desk.stack.responder.wait(timeout: .seconds(5))
        for connection in inFlight + [unsent] {
            let answer = try connection.readResult()
            #expect(answer.status == 502, "nginx answers for the dead responder")
            #expect(try answer.json()["error"] != nil)
        }
        #expect(try desk.stack.request("GET", "/api/health").status == 502)

        try desk.stack.restartResponder()
        let orders = try #require(try JSONSerialization.jsonObject(with: Data(desk.get("/api/orders").body)) as? [[String: Any]])
        #expect(orders.count == 3)
        #expect(orders.allSatisfy { $0["status"] as? String != "pending" }, "no order in limbo: \(orders)")
        let notSent = try #require(orders.first { $0["order"] as? String == "sell" })
        #expect(notSent["status"] as? String == "withdrawn")
        #expect((notSent["reason"] as? String)?.contains("stopped before the order was sent") == true)
        for order in orders where order["order"] as? String == "buy" {
            #expect(order["status"] as? String == "failed")
            #expect((order["reason"] as? String)?.contains("needs reconciliation") == true)
        }
        if desk.stack.backend == .sqlite {
            #expect(try desk.stack.rows("PRAGMA integrity_check") == [["ok"]], "the killed writer left the file intact")
        }
        #expect(try desk.stack.rows("SELECT status FROM batch") == [["unreconciled"]])
        #expect(desk.stack.responder.output.contains("recovered orders left by an earlier run"))
    }

    @Test func sigtermWithdrawsUnsentOrdersAndFinishesSentBatches() throws {
        let desk = try Desk(["BATCH_SIZE": "2", "EXECUTION_LATENCY_MS": "1000"])
        defer { desk.stack.stop() }
        let inFlight = try (0..<2).map { _ in try desk.send("buy", "1") }
        #expect(try eventually { try desk.orderFigures()["batches_in_flight"] == 1 })
        let unsent = try desk.send("sell", "2")
        #expect(try eventually { try desk.orderFigures()["pending"] == 1 })

        desk.stack.responder.signal(SIGTERM)
        let withdrawn = try unsent.readResult()
        #expect(withdrawn.status == 503)
        #expect(try (withdrawn.json()["error"] as? String)?.contains("shutting down") == true)
        for connection in inFlight {
            let answer = try connection.readResult()
            #expect(answer.status == 200, "a batch already sent finishes and is answered")
            #expect(try answer.json()["status"] as? String == "approved")
        }
        #expect(desk.stack.responder.wait(timeout: .seconds(10)) == 0)
    }

    @Test func sigtermUnderLoadAnswersEveryRequestExitsZeroAndLosesNothing() throws {
        // One user stands for many clients here: the per-user caps are lifted.
        let desk = try Desk(["BATCH_SIZE": "10", "EXECUTION_LATENCY_MS": "300", "MAX_HELD_REQUESTS": "2000",
                             "MAX_HELD_PER_USER": "2000", "ORDER_BURST": "2000"])
        defer { desk.stack.stop() }
        let longPolls = try (0..<100).map { _ in
            try desk.stack.open("GET", "/api/rooms/1/messages?after=1000000&wait=30", headers: desk.auth)
        }
        var orders = try (0..<155).map { _ in try desk.send("buy", "1") }
        #expect(try eventually { try desk.orderFigures()["batches_in_flight"] ?? 0 > 0 })
        desk.stack.responder.signal(SIGTERM)
        // Clients keep coming while it drains.
        orders += try (0..<45).map { _ in try desk.send("sell", "2") }

        var answered: [Int: String] = [:]
        for connection in orders {
            let answer = try connection.readResult()
            let body = try answer.json()
            switch answer.status {
            case 200:
                #expect(body["status"] as? String == "approved")
                answered[try #require(body["id"] as? Int)] = "approved"
            case 503:
                #expect((body["error"] as? String)?.contains("shutting down") == true, "\(answer)")
                if let id = body["id"] as? Int { answered[id] = "not executed" }
            case 502:
                // After the drain the socket is gone, and nginx answers for it.
                #expect(body["error"] != nil, "\(answer)")
            default:
                Issue.record("unexpected answer \(answer)")
            }
        }
        for connection in longPolls {
            let answer = try connection.readResult()
            #expect([200, 503].contains(answer.status), "\(answer)")
            if answer.status == 503 { #expect(try answer.json()["error"] != nil) }
        }
        #expect(desk.stack.responder.wait(timeout: .seconds(15)) == 0, "exit 0: \(desk.stack.responder.output.suffix(2000))")
        #expect(answered.values.contains("approved"), "some batches were executed before the signal")

        let stored = try desk.stack.rows("SELECT id, status FROM trade_order ORDER BY id").map { (try #require(Int($0[0])), $0[1]) }
        #expect(Set(answered.keys).isSubset(of: stored.map(\.0)), "every order a client was told of is stored")
        #expect(stored.allSatisfy { ["approved", "withdrawn"].contains($0.1) }, "every order ended approved or withdrawn: \(stored)")
        for (id, status) in stored {
            #expect(answered[id] != nil, "order \(id) (\(status)) was stored but its client heard nothing")
            #expect(answered[id] == (status == "approved" ? "approved" : "not executed"), "order \(id): stored \(status), told \(answered[id] ?? "-")")
        }
        if desk.stack.backend == .sqlite {
            #expect(try desk.stack.rows("PRAGMA integrity_check") == [["ok"]])
        }
    }
}
