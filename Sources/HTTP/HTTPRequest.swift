import Foundation

/// A request as the application sees it: method, decoded path, query, headers and cookies, parsed
/// from the FastCGI params nginx sends (`fastcgi_params`).
public struct HTTPRequest: Sendable {
    public let method: HTTPMethod
    /// The path as sent, still percent-encoded, without the query (`/api/rooms/a%2Fb`).
    public let rawPath: String
    /// The path split on `/`, each segment percent-decoded (`["api", "rooms", "a/b"]`).
    public internal(set) var pathSegments: [String]
    /// Query parameters; the first of repeated names wins.
    public internal(set) var query: [String: String]
    /// Header names are lower-case (`content-type`, `authorization`).
    public internal(set) var headers: [String: String]
    public internal(set) var cookies: [String: String]
    public internal(set) var body: [UInt8]
    /// Whether the client reached nginx over HTTPS (`HTTPS=on`).
    public let isHTTPS: Bool
    public let remoteAddress: String?
    /// Filled in by the router from `{name}` segments of the route.
    public internal(set) var pathParameters: [String: String] = [:]

    let exchange: (any HTTPExchange)?
    let heldQuota: HeldRequestQuota?
    /// How errors become answers, for those given later to a held request.
    let errors: ErrorAnswers

    /// Parses the params; throws 400 for a path or query that is not valid percent-encoded UTF-8.
    public init(params: [String: String], body: [UInt8] = []) throws(HTTPError) {
        try self.init(params: params, body: body, exchange: nil, heldQuota: nil, errors: ErrorAnswers())
    }

    init(params: [String: String], body: [UInt8], exchange: (any HTTPExchange)?, heldQuota: HeldRequestQuota?,
         errors: ErrorAnswers) throws(HTTPError) {
        guard let method = HTTPMethod(params["REQUEST_METHOD"] ?? "GET") else { throw .badRequest("the method is not a valid token") }
        self.method = method
        let uri = params["REQUEST_URI"] ?? params["DOCUMENT_URI"] ?? "/"
        let queryStart = uri.firstIndex(of: "?")
        rawPath = String(uri[..<(queryStart ?? uri.endIndex)])
        pathSegments = try Self.segments(of: rawPath)
        query = try Self.parseQuery(params["QUERY_STRING"] ?? queryStart.map { String(uri[uri.index(after: $0)...]) } ?? "")
        headers = Self.headers(from: params)
        cookies = Self.parseCookies(headers["cookie"] ?? "")
        self.body = body
        isHTTPS = params["HTTPS"]?.lowercased() == "on" || params["REQUEST_SCHEME"] == "https"
        remoteAddress = params["REMOTE_ADDR"]
        self.exchange = exchange
        self.heldQuota = heldQuota
        self.errors = errors
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The request without its content (path segments, query, headers, cookies, body): what a held
    /// request keeps for the answers whose headers depend on how it was made (its scheme, method
    /// and path), so that thousands of held requests do not keep their content alive.
    var withoutContent: HTTPRequest {
        var request = self
        request.pathSegments = []
        request.query = [:]
        request.headers = [:]
        request.cookies = [:]
        request.body = []
        request.pathParameters = [:]
        return request
    }

    /// A `{name}` segment of the matched route.
    public func pathParameter(_ name: String) -> String? { pathParameters[name] }

    /// Every segment, empty ones included: `/api/session/` is `["api", "session", ""]`, which no
    /// route matches. Each resource has one spelling, so the limits nginx puts on a path (matched on
    /// its normalised form) are the limits of every request that reaches its handler.
    static func segments(of path: String) throws(HTTPError) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var decoded: [String] = []
        for part in parts {
            guard let segment = PercentEncoding.decode(part) else {
                throw .badRequest("the path has an invalid percent-encoding")
            }
            decoded.append(segment)
        }
        return decoded
    }

    static func parseQuery(_ text: String) throws(HTTPError) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let eq = pair.firstIndex(of: "=")
            guard let name = PercentEncoding.decode(pair[..<(eq ?? pair.endIndex)], plusIsSpace: true),
                  let value = PercentEncoding.decode(eq.map { pair[pair.index(after: $0)...] } ?? "", plusIsSpace: true)
            else { throw .badRequest("the query string has an invalid percent-encoding") }
            if result[name] == nil { result[name] = value }
        }
        return result
    }

    static func headers(from params: [String: String]) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in params where name.hasPrefix("HTTP_") {
            // HTTP_X_REQUEST_ID → x-request-id, byte by byte: Foundation's replacingOccurrences was a
            // measurable part of every request.
            let bytes = name.utf8.dropFirst(5).map { byte -> UInt8 in
                switch byte {
                case UInt8(ascii: "_"): UInt8(ascii: "-")
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte + 32
                default: byte
                }
            }
            headers[String(decoding: bytes, as: UTF8.self)] = value
        }
        if let type = params["CONTENT_TYPE"], !type.isEmpty { headers["content-type"] = type }
        if let length = params["CONTENT_LENGTH"], !length.isEmpty { headers["content-length"] = length }
        return headers
    }

    static func parseCookies(_ header: String) -> [String: String] {
        var cookies: [String: String] = [:]
        for pair in header.split(separator: ";") {
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let name = pair[..<eq].trimmingCharacters(in: .whitespaces)
            var value = pair[pair.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            if !name.isEmpty, cookies[name] == nil { cookies[name] = value }
        }
        return cookies
    }
}
