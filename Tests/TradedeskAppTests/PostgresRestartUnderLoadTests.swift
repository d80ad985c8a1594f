import Foundation
import Locking
import TestSupport
import Testing

/// PostgreSQL restarts while clients post orders and chat messages through nginx: while it is
/// down, requests are answered 503 with a JSON error that names the cause and no socket path or
/// password; the responder reconnects by itself; and every order and message that was
/// acknowledged is there afterwards.
struct PostgresRestartUnderLoadTests {
    @Test func aRestartUnderLoadLosesNothingAcknowledgedAndTellsClientsWhy() throws {
        let server = PostgresServer()
        defer { server.remove() }
        let stack = try ResponderStack.tradedesk(backend: .postgres, postgresServer: server, environment: [
            "REGISTRATION": "open", "BATCH_SIZE": "1", "ORDER_BURST": "10000", "ORDER_RATE": "10000",
            "MESSAGE_BURST": "10000", "MESSAGE_RATE": "10000", "CREDENTIAL_CACHE_LIFETIME": "60",
        ])
        defer { stack.stop() }
        try stack.register("alice")
        let token = try stack.createToken("alice")
        let headers = ["Authorization": "Bearer \(token)", "Content-Type": "application/json"]

        let orders = Locked<[Int]>([]), messages = Locked<[Int]>([])
        let refusals = Locked<[String: Int]>([:]), strange = Locked<[String]>([])
        let stop = Locked(false)
        @Sendable func record(_ result: HTTPResult, into acknowledged: Locked<[Int]>, ok: Int) {
            if result.status == ok, let id = (try? result.json())?["id"] as? Int {
                acknowledged.withLock { $0.append(id) }
            } else if result.status == 503, let error = (try? result.json())?["error"] as? String {
                refusals.withLock { $0[error, default: 0] += 1 }
            } else {
                strange.withLock { $0.append("\(result.status) \(result.text)") }
            }
        }
        let group = DispatchGroup()
        for client in 0..<6 {
            group.enter()
            Thread {
                defer { group.leave() }
                var n = 0
                while !stop.withLock({ $0 }) {
                    n += 1
                    do {
                        if client < 4 {
                            let body = Array(try JSONSerialization.data(withJSONObject: ["order": "buy", "price": 1.5]))
                            record(try stack.request("POST", "/api/orders", headers: headers, body: body), into: orders, ok: 200)
                        } else {
                            let body = Array(try JSONSerialization.data(withJSONObject: ["text": "client \(client) message \(n)"]))
                            record(try stack.request("POST", "/api/rooms/1/messages", headers: headers, body: body), into: messages, ok: 201)
                        }
                    } catch {
                        strange.withLock { $0.append("\(error)") }
                    }
                }
            }.start()
        }
        #expect(eventually(timeout: .seconds(20)) { orders.withLock { $0.count } >= 20 && messages.withLock { $0.count } >= 20 })
        try server.stop()
        #expect(eventually(timeout: .seconds(20)) { refusals.withLock { $0.values.reduce(0, +) } >= 10 }, "requests were refused while it was down")
        try server.start()
        let (ordersBack, messagesBack) = (orders.withLock { $0.count }, messages.withLock { $0.count })
        #expect(eventually(timeout: .seconds(30)) { orders.withLock { $0.count } > ordersBack + 20 && messages.withLock { $0.count } > messagesBack + 20 },
                "the responder reconnected by itself")
        stop.withLock { $0 = true }
        group.wait()

        #expect(strange.withLock { $0 }.isEmpty, "every answer was a success or a 503 with a JSON error: \(strange.withLock { $0 }.prefix(5))")
        for (error, _) in refusals.withLock({ $0 }) {
            #expect(error.contains("database"), "names the cause: \(error)")
            #expect(!error.contains(server.directory) && !error.contains("/tmp") && !error.lowercased().contains("password"),
                    "names no path or password: \(error)")
        }
        for id in orders.withLock({ $0 }) {
            let read = try stack.request("GET", "/api/orders/\(id)", headers: headers)
            let status = try read.json()["status"] as? String
            #expect(read.status == 200 && status == "approved", "order \(id): \(read)")
        }
        var seen = Set<Int>(), after = 0
        while true {
            let page = try stack.request("GET", "/api/rooms/1/messages?after=\(after)", headers: headers)
            let list = try #require(try JSONSerialization.jsonObject(with: Data(page.body)) as? [[String: Any]])
            guard let last = list.last?["id"] as? Int else { break }
            seen.formUnion(list.compactMap { $0["id"] as? Int })
            after = last
        }
        let lost = Set(messages.withLock { $0 }).subtracting(seen)
        #expect(lost.isEmpty, "acknowledged messages missing: \(lost.sorted().prefix(10))")
    }
}
