@testable import HTTP
import Testing

struct RouterTests {
    let router: Router = {
        var router = Router()
        router.get("/api/health") { _ in .json(["route": "health"]) }
        router.get("/api/rooms/{id}/messages") { _ in .json(["route": "list"]) }
        router.post("/api/rooms/{id}/messages") { _ in .json(["route": "post"]) }
        router.delete("/api/tokens/{id}") { _ in .noContent() }
        return router
    }()

    private func routeName(_ method: HTTPMethod, _ path: String) throws -> String? {
        let request = try HTTPRequest(params: ["REQUEST_METHOD": method.rawValue, "REQUEST_URI": path])
        guard case .found(let handler, _) = router.resolve(method: method, segments: request.pathSegments) else { return nil }
        return try handler(request).map { String(decoding: $0.body, as: UTF8.self) }
    }

    @Test func matchesLiteralAndParameterSegments() throws {
        #expect(try routeName(.get, "/api/health") == #"{"route":"health"}"#)
        #expect(try routeName(.get, "/api/rooms/7/messages?after=3") == #"{"route":"list"}"#)
        #expect(try routeName(.post, "/api/rooms/7/messages") == #"{"route":"post"}"#)
    }

    @Test func extractsDecodedPathParameters() throws {
        let request = try HTTPRequest(params: ["REQUEST_METHOD": "GET", "REQUEST_URI": "/api/rooms/a%2Fb%20c/messages"])
        guard case .found(_, let parameters) = router.resolve(method: .get, segments: request.pathSegments) else {
            Issue.record("no match"); return
        }
        // An encoded slash stays inside its segment: it cannot reach another route.
        #expect(parameters == ["id": "a/b c"])
    }

    /// A resource has one spelling. nginx matches its locations (and the limits they carry) on the
    /// normalised path, so any other spelling that reached a handler would skip them.
    @Test(arguments: ["/api/health/", "//api/health", "/api//health", "/api/./health", "/api/x/../health", "/api/health/.",
                      "/api/%2E/health", "/api/rooms/./messages", "/api/rooms/../messages", "/api/rooms/%2e%2e/messages",
                      "/api/rooms/7/messages/"])
    func otherSpellingsOfAPathAreNotFound(_ path: String) throws {
        let request = try HTTPRequest(params: ["REQUEST_METHOD": "GET", "REQUEST_URI": path])
        guard case .notFound = router.resolve(method: .get, segments: request.pathSegments) else {
            Issue.record("\(path) should be 404"); return
        }
    }

    @Test func percentEncodedLettersAreTheSamePath() throws {
        #expect(try routeName(.get, "/api/%68ealth") == #"{"route":"health"}"#)
    }

    @Test func unknownPathsAreNotFound() throws {
        for path in ["/api", "/api/rooms", "/api/rooms//messages", "/api/health/extra", "/"] {
            let request = try HTTPRequest(params: ["REQUEST_URI": path])
            guard case .notFound = router.resolve(method: .get, segments: request.pathSegments) else {
                Issue.record("\(path) should be 404"); continue
            }
        }
    }

    @Test func otherMethodsListWhatIsAllowed() throws {
        guard case .methodNotAllowed(let allowed) = router.resolve(method: .put, segments: ["api", "rooms", "1", "messages"]) else {
            Issue.record("expected 405"); return
        }
        #expect(allowed == [.get, .post])
    }
}
