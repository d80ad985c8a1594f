import FastCGI

/// An error a handler throws to answer `{"error": message}` with a 4xx or 5xx status.
public struct HTTPError: Error, Sendable, Equatable {
    public var status: Int
    public var message: String
    public var headers: [Header]

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
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
        HTTPError(429, "too many \(what); retry in \(seconds) s", headers: [Header("Retry-After", String(seconds))])
    }
    public static func serviceUnavailable(_ message: String, retryAfter seconds: Int) -> HTTPError {
        HTTPError(503, message, headers: [Header("Retry-After", String(seconds))])
    }

    public var response: HTTPResponse {
        .jsonError(status, message, headers: headers.map { ($0.name, $0.value) })
    }
}
