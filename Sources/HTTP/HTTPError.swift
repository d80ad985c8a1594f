import HTTPTypes

/// An error a handler throws to answer `{"error": message}` with a 4xx or 5xx status, for what
/// the HTTP layer itself refuses (a malformed body, a missing route) and for route-level checks.
public struct HTTPError: HTTPResponseError, Sendable, Equatable {
    public var status: HTTPStatus
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPStatus, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public static func badRequest(_ message: String) -> HTTPError { HTTPError(.badRequest, message) }
    public static func notFound(_ message: String = "not found") -> HTTPError { HTTPError(.notFound, message) }
    /// 429 for a client that asked too often: `what` names what it asked for ("orders").
    public static func tooMany(_ what: String, retryAfter seconds: Int) -> HTTPError {
        HTTPError(.tooManyRequests, "too many \(what); retry in \(seconds) s", headers: .retryAfter(seconds))
    }
    public static func serviceUnavailable(_ message: String, retryAfter seconds: Int) -> HTTPError {
        HTTPError(.serviceUnavailable, message, headers: .retryAfter(seconds))
    }

    public func headers(for request: HTTPRequest?) -> HTTPFields { headers }

    public var response: HTTPResponse { response(to: nil) }
}
