import Foundation
import Testing
import TestSupport

/// The core's promises, seen through a real nginx: answer now or later from any thread, thousands
/// held without a thread each, a capped number held, client departures reported.
@Suite(.serialized)
struct HoldingTests {
    @Test(arguments: ["task", "dispatch"])
    func heldRequestIsAnsweredLaterFromAnotherThread(via: String) throws {
        let stack = try startFixture()
        defer { stack.stop() }
        let held = try stack.open("GET", "/api/hold?ms=700&via=\(via)")
        // While it is held, the responder goes on answering others.
        #expect(try eventually { try stack.heldCount() == 1 })
        #expect(!held.hasAnswer(within: .milliseconds(100)))
        let answer = try held.readResult()
        #expect(answer.status == 200)
        #expect(try answer.json()["answered_after_ms"] as? Int == 700)
        #expect(try stack.heldCount() == 0)
        #expect(stack.sanitizerReports == nil)
    }

    @Test func fiveHundredHeldRequestsAreAllAnswered() throws {
        let stack = try startFixture()
        defer { stack.stop() }
        let connections = try (0..<500).map { _ in try stack.open("GET", "/api/park") }
        #expect(try eventually(timeout: .seconds(20)) { try stack.heldCount() == 500 })
        // Holding costs no thread: an acceptor, 4 request threads, a watcher, writers, and the runtime's few.
        let threads = try #require(stack.responder.threadCount)
        #expect(threads < 30, "the responder runs \(threads) threads for 500 held requests")

        let release = try stack.request("POST", "/api/release")
        #expect(try release.json()["released"] as? Int == 500)
        for connection in connections {
            let answer = try connection.readResult()
            #expect(answer.status == 200)
            #expect(try answer.json()["released"] as? Bool == true)
        }
        #expect(try stack.heldCount() == 0)
        #expect(stack.sanitizerReports == nil)
    }

    /// The kernel refuses a connection to a unix socket whose backlog is full, and nginx answers that
    /// client 502. Here the backlog is 32 and each handler takes 100 ms (4 threads: 40 requests a
    /// second), so 120 clients arriving over a quarter of a second are all held only if connections
    /// are accepted as they come, not as handlers become free.
    @Test func burstBeyondTheListenBacklogWaitsInsteadOfFailing() throws {
        let stack = try startFixture(backlog: 32)
        defer { stack.stop() }
        let connections = try (0..<120).map { _ in
            usleep(2000)
            return try stack.open("GET", "/api/park?handle_ms=100")
        }
        let settled = try eventually(timeout: .seconds(30)) {
            try stack.heldCount() == 120 || connections.contains { $0.hasAnswer(within: .zero) }
        }
        let answeredEarly = connections.filter { $0.hasAnswer(within: .zero) }.count
        #expect(settled && answeredEarly == 0, "\(answeredEarly) of 120 clients were answered before the release")

        let release = try stack.request("POST", "/api/release")
        #expect(try release.json()["released"] as? Int == 120)
        for connection in connections { #expect(try connection.readResult().status == 200) }
        #expect(stack.sanitizerReports == nil)
    }

    @Test func holdingPastTheCapIsRefusedWith503() throws {
        let stack = try startFixture(maxHeld: 3)
        defer { stack.stop() }
        let parked = try (0..<3).map { _ in try stack.open("GET", "/api/park") }
        #expect(try eventually { try stack.heldCount() == 3 })

        let refused = try stack.request("GET", "/api/park")
        #expect(refused.status == 503)
        #expect(refused.header("retry-after") == "1")
        #expect(try (refused.json()["error"] as? String)?.contains("limit 3") == true)

        // Answering frees the places.
        _ = try stack.request("POST", "/api/release")
        for connection in parked { #expect(try connection.readResult().status == 200) }
        let again = try stack.open("GET", "/api/park")
        #expect(try eventually { try stack.heldCount() == 1 })
        _ = try stack.request("POST", "/api/release")
        #expect(try again.readResult().status == 200)
    }

    @Test func clientThatDisconnectsWhileHeldIsReportedToTheApplication() throws {
        let stack = try startFixture()
        defer { stack.stop() }
        let staying = try stack.open("GET", "/api/park")
        let leaving = try stack.open("GET", "/api/park")
        #expect(try eventually { try stack.heldCount() == 2 })

        leaving.close()
        #expect(try eventually { try stack.request("GET", "/api/gone").json()["gone"] as? Int == 1 })
        #expect(try stack.heldCount() == 1)

        // The one that stayed is still answered, once.
        #expect(try stack.request("POST", "/api/release").json()["released"] as? Int == 1)
        #expect(try staying.readResult().status == 200)
        #expect(eventually { stack.responder.output.contains("GET /api/park client-gone") })
        #expect(stack.sanitizerReports == nil)
    }

    @Test func sigtermAnswersEveryHeldRequestWith503AndExitsZero() throws {
        let stack = try startFixture()
        defer { stack.stop() }
        let parked = try (0..<3).map { _ in try stack.open("GET", "/api/park") }
        #expect(try eventually { try stack.heldCount() == 3 })

        let start = ContinuousClock.now
        stack.responder.signal(SIGTERM)
        for connection in parked {
            let answer = try connection.readResult()
            #expect(answer.status == 503)
            #expect(answer.header("retry-after") == "1")
            #expect(try (answer.json()["error"] as? String)?.contains("shutting down") == true)
        }
        #expect(stack.responder.wait(timeout: .seconds(5)) == 0)
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(!FileManager.default.fileExists(atPath: stack.socket), "the socket file is removed")
        #expect(stack.sanitizerReports == nil)

        // nginx answers for the missing responder in the API's JSON shape.
        let down = try stack.request("GET", "/api/health")
        #expect(down.status == 502)
        #expect(try down.json()["error"] != nil)
    }
}
