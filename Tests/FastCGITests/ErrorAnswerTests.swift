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
        for path in ["/api/health", "/", "/api/nothing-here"] {
            let answer = try stack.request("GET", path)
            #expect(answer.header("content-security-policy")?.contains("default-src 'self'") == true, "\(path)")
            #expect(answer.header("x-content-type-options") == "nosniff", "\(path)")
            #expect(answer.header("referrer-policy") == "no-referrer", "\(path)")
        }
        // nginx's own answer when the responder is gone carries them too.
        stack.responder.stop()
        let unavailable = try stack.request("GET", "/api/health")
        #expect(unavailable.status == 502)
        for header in ["content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options", "cross-origin-opener-policy"] {
            #expect(unavailable.header(header) != nil, "\(header) on 502")
        }
    }
}
