import Foundation
import Locking
import Testing
import TestSupport

/// A restart under socket activation while clients keep sending, with nginx keeping connections.
/// The listening socket belongs to the service manager (here the test), so new connections wait in
/// its backlog while one responder drains and the next starts, and the old responder hands its
/// kept connections to the next one through that socket (`KeptConnectionHandover`) instead of
/// closing them. nginx never sends a POST again on a connection that failed, so a kept connection
/// closed under a request would be a 502; no client may see one.
@Suite(.serialized)
struct RestartUnderLoadTests {
    @Test func restartsUnderSocketActivationLoseNoRequest() throws {
        // systemd names the receiving process in LISTEN_PID; the shell execs, so its pid is tradedesk's.
        let stack = try ResponderStack(executable: "/bin/sh",
                                       environment: ["LISTEN_FDS": "1", "REGISTRATION": "open", "BATCH_SIZE": "1", "ORDER_BURST": "100000", "ORDER_RATE": "100000"],
                                       inheritSocket: 3) { _, directory in
            ["-c", "LISTEN_PID=$$ exec \"$0\" serve --database \"$1\"", Paths.product("tradedesk"), directory.file("tradedesk.sqlite")]
        }
        defer { stack.stop() }
        #expect(eventually { (try? stack.request("GET", "/api/health").status) == 200 })
        try stack.register("alice")
        let token = try stack.createToken("alice")

        let statuses = Locked<[Int: Int]>([:])
        let running = Locked(true)
        let clients = (0..<4).map { client in
            Thread {
                var sent = 0
                while running.withLock({ $0 }) {
                    let status: Int
                    if sent % 2 == 0 {
                        status = (try? stack.json("POST", "/api/orders", ["order": "buy", "price": 1 + client],
                                                  headers: ["Authorization": "Bearer \(token)"]).status) ?? -1
                    } else {
                        status = (try? stack.request("GET", "/api/health").status) ?? -1
                    }
                    statuses.withLock { $0[status, default: 0] += 1 }
                    sent += 1
                }
            }
        }
        clients.forEach { $0.start() }
        usleep(500_000)
        for _ in 0..<5 {
            try stack.restartResponder()
            usleep(300_000)
        }
        running.withLock { $0 = false }
        #expect(eventually(timeout: .seconds(15)) { clients.allSatisfy(\.isFinished) })

        let seen = statuses.withLock { $0 }
        let answered = seen.values.reduce(0, +)
        // 503 (with Retry-After) is what an order that arrives while the old responder drains gets;
        // nothing else but success.
        #expect(Set(seen.keys).isSubset(of: [200, 503]), "statuses over \(answered) requests: \(seen)")
        #expect(seen[200, default: 0] > 100, "statuses: \(seen)")
        let health = try stack.request("GET", "/api/health").json()
        #expect(try #require(health["requests_on_kept_connections"] as? Int) > 0)
        #expect(stack.responder.output.contains("took over kept connections from the previous responder"))
        #expect(stack.sanitizerReports == nil)
    }
}
