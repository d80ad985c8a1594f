@testable import HTTP
import HTTPTesting
import Testing

/// The HTTP layer's own parts, in process: route groups and their middleware, and every thrown
/// error answered in one place.
struct HTTPApplicationTests {
    /// A domain error that knows nothing of HTTP until it is given an answer, as TradedeskApp's
    /// adapter does for the modules' errors.
    enum ShelfError: Error { case empty }

    struct NeedsName: RouterMiddleware {
        var name: String { "NeedsName" }
        func prepare(_ request: HTTPRequest) throws -> String {
            guard let name = request.header("x-name") else { throw HTTPError(.unauthorized, "say who you are") }
            return name
        }
    }

    let client: TestClient = {
        var router = Router()
        router.get("/open") { _ in .json(["open": true]) }
        router.group(NeedsName()) { routes in
            routes.get("/hello") { _, name in .json(["hello": name]) }
            routes.post("/held") { request, name in
                let pending = try request.hold()
                Task.detached {
                    try? await Task.sleep(for: .milliseconds(50))
                    pending.respond(.json(["later": name]))
                }
                return nil
            }
        }
        router.get("/shelf") { _ in throw ShelfError.empty }
        router.get("/bug") { _ in throw CancellationError() }
        return TestClient(HTTPApplication(router: router, logger: .init(label: "test"), recognize: { error in
            (error as? ShelfError).map { _ in HTTPError(.conflict, "the shelf is empty") }
        }))
    }()

    @Test func middlewareRunsBeforeEveryHandlerOfItsGroup() async throws {
        #expect(try await client.execute(.get, "/open").status == 200)
        let refused = try await client.execute(.get, "/hello")
        #expect(refused.status == 401 && refused.error == "say who you are")
        let hello = try await client.execute(.get, "/hello", headers: ["X-Name": "ada"])
        #expect(hello.text == #"{"hello":"ada"}"#)
        let held = client.send(.post, "/held", headers: ["X-Name": "ada"])
        #expect(held.isHeld)
        #expect(try await held.response(timeout: .seconds(5)).text == #"{"later":"ada"}"#)
        let router = client.application.router
        #expect(router.routeList.map(\.middleware) == [[], ["NeedsName"], ["NeedsName"], [], []])
    }

    @Test func errorsAreAnsweredInOnePlace() async throws {
        let recognized = try await client.execute(.get, "/shelf")
        #expect(recognized.status == 409 && recognized.error == "the shelf is empty")
        let bug = try await client.execute(.get, "/bug")
        #expect(bug.status == 500 && bug.error == "internal error", "the details go to the log only")
        let missing = try await client.execute(.get, "/nowhere")
        #expect(missing.status == 404 && missing.error == "no route for GET /nowhere")
        let wrongMethod = try await client.execute(.delete, "/open")
        #expect(wrongMethod.status == 405 && wrongMethod.header("Allow") == "GET")
        #expect(wrongMethod.response.status.reasonPhrase == "Method Not Allowed")
    }

    @Test func errorBodiesEscapeTheirMessage() {
        let response = HTTPResponse.jsonError(.badRequest, "bad \"name\"\n\u{1}")
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"error":"bad \"name\"\n\u0001"}"#)
        #expect(response.header("content-type") == "application/json")
    }

    @Test func theCoresRefusalsAreAnsweredInTheAPIsShape() {
        let tooLarge = HTTPApplication.answer(for: .bodyTooLarge(limit: 10))
        #expect(tooLarge.status == .contentTooLarge)
        #expect(String(decoding: tooLarge.body, as: UTF8.self) == #"{"error":"request body is larger than 10 bytes"}"#)
        #expect(HTTPApplication.answer(for: .shuttingDown).header("retry-after") == "1")
    }
}
