import Foundation
import HTTP

/// Runs requests through an application's real router, middleware and error answers, in process:
/// no server, no socket, no nginx. Modelled on hummingbird's `app.test(.router)`.
///
/// ```swift
/// let client = TestClient(application)
/// let answer = try await client.execute(.get, "/api/session", headers: ["Authorization": "Bearer …"])
/// #expect(answer.status == 200)
///
/// let order = client.send(.post, "/api/orders", json: ["order": "buy", "price": 1.5])  // held
/// #expect(order.isHeld)
/// let approved = try await order.response()                                           // answered later
/// ```
///
/// Requests are built as nginx's `fastcgi_params` would send them, so the handlers see what they
/// see behind nginx; what only nginx does (limits, TLS, the static page) stays in the nginx tests.
public struct TestClient: Sendable {
    public let application: HTTPApplication

    public init(_ application: HTTPApplication) { self.application = application }

    /// Sends a request and waits for its answer, at once or held and given later, for at most
    /// `timeout`.
    public func execute(_ method: HTTPMethod, _ path: String, headers: [String: String] = [:], body: [UInt8] = [],
                        https: Bool = false, from address: String = "127.0.0.1",
                        timeout: Duration = .seconds(10)) async throws -> TestResponse {
        try await send(method, path, headers: headers, body: body, https: https, from: address).response(timeout: timeout)
    }

    /// Like `execute`, with `object` as a JSON body.
    public func execute(_ method: HTTPMethod, _ path: String, json object: Any, headers: [String: String] = [:],
                        https: Bool = false, from address: String = "127.0.0.1",
                        timeout: Duration = .seconds(10)) async throws -> TestResponse {
        try await send(method, path, json: object, headers: headers, https: https, from: address).response(timeout: timeout)
    }

    /// Sends a request and returns once its handler has: the exchange has its answer, or holds it.
    /// The handler runs on the caller's thread, as it would on one of the core's request threads.
    public func send(_ method: HTTPMethod, _ path: String, headers: [String: String] = [:], body: [UInt8] = [],
                     https: Bool = false, from address: String = "127.0.0.1") -> TestExchange {
        let exchange = TestExchange()
        application.handle(params: Self.params(method, path, headers: headers, body: body, https: https, address: address),
                           body: body, exchange: exchange)
        return exchange
    }

    public func send(_ method: HTTPMethod, _ path: String, json object: Any, headers: [String: String] = [:],
                     https: Bool = false, from address: String = "127.0.0.1") -> TestExchange {
        let body = (try? JSONSerialization.data(withJSONObject: object)).map(Array.init) ?? []
        return send(method, path, headers: headers.merging(["Content-Type": "application/json"]) { mine, _ in mine },
                    body: body, https: https, from: address)
    }

    /// The FastCGI params nginx sends for such a request (Debian's `fastcgi_params`).
    static func params(_ method: HTTPMethod, _ path: String, headers: [String: String], body: [UInt8],
                       https: Bool, address: String) -> [String: String] {
        var params = [
            "REQUEST_METHOD": method.rawValue, "REQUEST_URI": path, "REMOTE_ADDR": address, "HTTP_HOST": "localhost",
            "REQUEST_SCHEME": https ? "https" : "http",
        ]
        if let query = path.firstIndex(of: "?") {
            params["DOCUMENT_URI"] = String(path[..<query])
            params["QUERY_STRING"] = String(path[path.index(after: query)...])
        } else {
            params["DOCUMENT_URI"] = path
            params["QUERY_STRING"] = ""
        }
        if https { params["HTTPS"] = "on" }
        if !body.isEmpty { params["CONTENT_LENGTH"] = String(body.count) }
        for (name, value) in headers {
            switch name.lowercased() {
            case "content-type": params["CONTENT_TYPE"] = value
            case "content-length": params["CONTENT_LENGTH"] = value
            default: params["HTTP_" + name.uppercased().replacingOccurrences(of: "-", with: "_")] = value
            }
        }
        return params
    }
}
