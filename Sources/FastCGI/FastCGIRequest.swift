/// One request as the web server sent it: the FastCGI params and the whole body, read before the
/// application sees it. Immutable, so any thread may keep it.
public struct FastCGIRequest: Sendable {
    /// CGI/FastCGI params such as `REQUEST_METHOD`, `REQUEST_URI`, `HTTP_COOKIE`.
    public let params: [String: String]
    public let body: [UInt8]

    public init(params: [String: String], body: [UInt8]) {
        self.params = params
        self.body = body
    }

    public subscript(param name: String) -> String? { params[name] }
}
