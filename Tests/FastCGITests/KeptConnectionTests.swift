import Foundation
import Testing
import TestSupport

/// Kept connections (nginx.conf's `fastcgi_keep_conn on` and the upstream's `keepalive` pool), seen
/// through a real nginx: reused for request after request, idle without a thread each, a held
/// request on one still noticed when its client leaves, all closed at SIGTERM without a 502 after.
@Suite(.serialized)
struct KeptConnectionTests {
    @Test func requestsOneAfterAnotherReuseAFewConnections() throws {
        let stack = try startFixture()
        defer { stack.stop() }
        for _ in 0..<40 { #expect(try stack.request("GET", "/api/health").status == 200) }
        let health = try stack.request("GET", "/api/connections").json()
        let connections = try #require(health["connections"] as? Int)
        // nginx runs a worker per core, each with a pool of its own.
        #expect(connections <= 8, "41 requests, one after another, took \(connections) connections")
        #expect(try #require(health["kept_requests"] as? Int) >= 41 - connections)
        #expect(stack.sanitizerReports == nil)
    }

    @Test func idleKeptConnectionsCostNoThread() throws {
        let stack = try startFixture()
        defer { stack.stop() }
        // Held at once, requests make nginx open a connection each; answered, they go back to its pools.
        func holdAndRelease(_ count: Int) throws {
            let parked = try (0..<count).map { _ in try stack.open("GET", "/api/park") }
            #expect(try eventually(timeout: .seconds(20)) { try stack.heldCount() == count })
            #expect(try stack.request("POST", "/api/release").json()["released"] as? Int == count)
            for connection in parked { #expect(try connection.readResult().status == 200) }
        }
        try holdAndRelease(10)
        let threadsBefore = try #require(stack.responder.threadCount)
        try holdAndRelease(200)

        let idle = try #require(try stack.request("GET", "/api/connections").json()["idle_kept"] as? Int)
        #expect(idle >= 150, "\(idle) of about 200 connections are kept")
        #expect(try #require(stack.responder.threadCount) == threadsBefore)
        #expect(stack.sanitizerReports == nil)
    }

    /// nginx closes the upstream connection of a request whose client went away, kept or not. The
    /// held request of each try comes on a kept connection when nginx's worker has one in its pool,
    /// which the access log line says; some try must have.
    @Test func aClientLeavingAHeldRequestOnAKeptConnectionIsNoticed() throws {
        let stack = try startFixture()
        defer { stack.stop() }
        for attempt in 1...5 {
            for _ in 0..<10 { _ = try stack.request("GET", "/api/health") }
            let leaving = try stack.open("GET", "/api/park")
            #expect(try eventually { try stack.heldCount() == 1 })
            leaving.close()
            #expect(try eventually { try stack.request("GET", "/api/gone").json()["gone"] as? Int == attempt })
            #expect(try stack.heldCount() == 0)
            if eventually(timeout: .seconds(2), { Self.goneOnAKeptConnection(stack.responder.output) }) { break }
        }
        #expect(Self.goneOnAKeptConnection(stack.responder.output), "no held request came on a kept connection")
        // The connection nginx closed is not used again: every next request is answered.
        for _ in 0..<10 { #expect(try stack.request("GET", "/api/health").status == 200) }
        #expect(stack.sanitizerReports == nil)
    }

    /// Closing an idle kept connection is safe only once the responder stops accepting: nginx takes
    /// the closed connections out of its pools, so the next responder's first POSTs, which nginx
    /// would never send again on a connection that failed, are answered.
    @Test func sigtermClosesTheIdleKeptConnectionsAndTheNextResponderServes() throws {
        let stack = try startFixture()
        defer { stack.stop() }
        for _ in 0..<20 { #expect(try stack.request("GET", "/api/health").status == 200) }
        let start = ContinuousClock.now
        stack.responder.signal(SIGTERM)
        #expect(stack.responder.wait(timeout: .seconds(5)) == 0)
        #expect(ContinuousClock.now - start < .seconds(3), "idle kept connections delayed the exit")
        #expect(stack.responder.output.contains("closed idle kept connections"))

        try stack.restartResponder()
        for index in 0..<20 {
            let echo = try stack.json("POST", "/api/echo", ["text": "after restart \(index)"])
            #expect(echo.status == 200)
        }
        #expect(stack.sanitizerReports == nil)
    }

    private static func goneOnAKeptConnection(_ log: String) -> Bool {
        log.split(separator: "\n").contains { $0.contains("GET /api/park client-gone") && $0.contains("connection=kept") }
    }
}
