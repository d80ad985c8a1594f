/// An error a handler throws to answer `{"error": message}` with a 4xx or 5xx status, for what
/// the HTTP layer itself refuses (a malformed body, a missing route) and for route-level checks.
public struct HTTPError: HTTPResponseError, Sendable, Equatable {
    public var status: Int
    public var message: String
    public var headers: [Header]

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }

        /// As a response's headers take it.
        public var pair: (name: String, value: String) { (name, value) }

        /// `Retry-After: seconds`: when a client that was refused (429, 503) may ask again.
        public static func retryAfter(_ seconds: Int) -> Header { Header("Retry-After", String(seconds)) }
    }

    public init(_ status: Int, _ message: String, headers: [Header] = []) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public static func badRequest(_ message: String) -> HTTPError { HTTPError(400, message) }
    public static func notFound(_ message: String = "not found") -> HTTPError { HTTPError(404, message) }
    /// 429 for a client that asked too often: `what` names what it asked for ("orders").
    public static func tooMany(_ what: String, retryAfter seconds: Int) -> HTTPError {
        HTTPError(429, "too many \(what); retry in \(seconds) s", headers: [.retryAfter(seconds)])
    }
    public static func serviceUnavailable(_ message: String, retryAfter seconds: Int) -> HTTPError {
        HTTPError(503, message, headers: [.retryAfter(seconds)])
    }

    public func headers(for request: HTTPRequest?) -> [Header] { headers }

    public var response: HTTPResponse { response(to: nil) }
}
