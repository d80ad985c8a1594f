import Foundation
import Testing
import TestSupport

/// Every error through nginx is `{"error": ...}` with the right status.
@Suite(.serialized)
struct ErrorAnswerTests {
    let stack: ResponderStack

    init() throws { stack = try startFixture(maxBodyBytes: 1024) }

    @Test func errorsAreJSONWithTheRightStatus() throws {
        defer { stack.stop() }
        let notFound = try stack.request("GET", "/api/nothing-here")
        #expect(notFound.status == 404)
        #expect(try notFound.json()["error"] as? String == "no route for GET /api/nothing-here")

        let wrongMethod = try stack.request("DELETE", "/api/health")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("allow") == "GET")
        #expect(try wrongMethod.json()["error"] != nil)

        let badJSON = try stack.request("POST", "/api/echo", headers: ["Content-Type": "application/json"],
                                        body: Array("{\"text\": ".utf8))
        #expect(badJSON.status == 400)
        #expect(try badJSON.json()["error"] as? String == "the request body is not valid JSON: unexpected end of file during JSON parse")

        let wrongType = try stack.json("POST", "/api/echo", ["text": 5])
        #expect(wrongType.status == 400)
        #expect(try wrongType.json()["error"] as? String == "field 'text' must be a string")

        let missing = try stack.json("POST", "/api/echo", ["other": "x"])
        #expect(try missing.json()["error"] as? String == "missing field 'text'")

        let notJSON = try stack.request("POST", "/api/echo", headers: ["Content-Type": "text/plain"], body: Array("hi".utf8))
        #expect(notJSON.status == 415)
        #expect(try notJSON.json()["error"] != nil)

        let echoed = try stack.json("POST", "/api/echo", ["text": "héllo <b>"])
        #expect(echoed.status == 200)
        #expect(try echoed.json()["text"] as? String == "héllo <b>")
        #expect(echoed.header("content-type")?.hasPrefix("application/json") == true)
    }

    @Test func bodiesOverTheCapAreAnswered413ByResponderAndByNginx() throws {
        defer { stack.stop() }
        // Over the responder's cap (1024 here) but under nginx's (64 KiB): the responder answers.
        let overResponder = try stack.request("POST", "/api/echo", headers: ["Content-Type": "application/json"],
                                              body: Array(repeating: UInt8(ascii: "a"), count: 5000))
        #expect(overResponder.status == 413)
        #expect(try overResponder.json()["error"] as? String == "request body is larger than 1024 bytes")

        // Over nginx's cap: nginx answers, in the same shape.
        let overNginx = try stack.request("POST", "/api/echo", headers: ["Content-Type": "application/json"],
                                          body: Array(repeating: UInt8(ascii: "a"), count: 70_000))
        #expect(overNginx.status == 413)
        #expect(try overNginx.json()["error"] != nil)

        // And the responder still serves.
        #expect(try stack.request("GET", "/api/health").status == 200)
        #expect(stack.sanitizerReports == nil)
    }

    @Test func requestsNginxRejectsBeforeRoutingAreJSONToo() throws {
        defer { stack.stop() }
        let bigHeader = try stack.request("GET", "/api/health", headers: ["X-Big": String(repeating: "a", count: 20_000)])
        #expect(bigHeader.status == 400)
        #expect(try bigHeader.json()["error"] as? String == "malformed request, or request headers larger than 8 KiB")

        let longURI = try stack.request("GET", "/api/health?" + String(repeating: "a", count: 9000))
        #expect(longURI.status == 414)
        #expect(try longURI.json()["error"] as? String == "request URI is longer than 8 KiB")

        // The internal error location cannot be fetched directly.
        #expect(try stack.request("GET", "/.errors/uri-too-long").status == 404)
    }

    @Test func securityHeadersComeWithAPIAnswersAndPages() throws {
        defer { stack.stop() }
        let headers = ["content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options",
                       "cross-origin-opener-policy", "permissions-policy"]
        for path in ["/api/health", "/", "/api/nothing-here"] {
            let answer = try stack.request("GET", path)
            #expect(answer.header("content-security-policy")?.contains("default-src 'self'") == true, "\(path)")
            #expect(answer.header("x-content-type-options") == "nosniff", "\(path)")
            #expect(answer.header("referrer-policy") == "no-referrer", "\(path)")
            #expect(answer.header("permissions-policy")?.contains("camera=()") == true, "\(path)")
            #expect(answer.header("permissions-policy")?.contains("microphone=()") == true, "\(path)")
            #expect(answer.header("permissions-policy")?.contains("geolocation=()") == true, "\(path)")
            #expect(answer.header("strict-transport-security") == nil, "no HSTS over plain HTTP: \(path)")
            // Only nginx's own answers get nginx's no-store, and nothing else leaks from the error list.
            #expect(answer.header("retry-after") == nil && answer.header("allow") == nil, "\(path)")
        }
        let page = try stack.request("GET", "/")
        #expect(page.header("cache-control") == nil)

        // nginx's own answers: each carries every security header, `Cache-Control: no-store`, and its
        // own extra header; the 421 catch-all server sends the same list as the application's.
        let trace = try stack.request("TRACE", "/api/health")
        #expect(trace.status == 405)
        #expect(trace.header("allow") == "GET, POST, DELETE")
        let misdirected = try stack.request("GET", "/api/health", headers: ["Host": "rebound.example"])
        #expect(misdirected.status == 421)
        let tooLarge = try stack.request("POST", "/api/echo", headers: ["Content-Type": "application/json"],
                                         body: Array(repeating: UInt8(ascii: "a"), count: 70_000))
        #expect(tooLarge.status == 413)
        let longURI = try stack.request("GET", "/api/health?" + String(repeating: "a", count: 9000))
        #expect(longURI.status == 414)
        let bigHeader = try stack.request("GET", "/api/health", headers: ["X-Big": String(repeating: "a", count: 20_000)])
        #expect(bigHeader.status == 400)
        var limited: HTTPResult?
        for _ in 0..<40 {
            let answer = try stack.json("POST", "/api/session", ["username": "x", "password": "y"])
            if answer.status == 429 { limited = answer; break }
        }
        #expect(limited?.header("retry-after") == "6")
        stack.responder.stop()
        let unavailable = try stack.request("GET", "/api/health")
        #expect(unavailable.status == 502)
        #expect(unavailable.header("retry-after") == "2")
        let answers = [trace, misdirected, tooLarge, longURI, bigHeader, unavailable] + (limited.map { [$0] } ?? [])
        for answer in answers {
            for header in headers { #expect(answer.header(header) != nil, "\(header) on \(answer.status)") }
            #expect(answer.header("cache-control") == "no-store", "no-store on \(answer.status)")
            #expect(answer.header("content-type")?.hasPrefix("application/json") == true, "JSON \(answer.status)")
            #expect(try answer.json()["error"] is String, "\(answer.status)")
        }
        for header in headers { #expect(misdirected.header(header) == page.header(header), "\(header): 421 and the page differ") }
        #expect(limited != nil, "nginx's password limit did not answer 429")
    }
}
