import HTTPTypes

/// A CGI response: a status, header fields and a body. The core writes it as `Status:` plus the
/// fields, a blank line and the body, which nginx turns into the HTTP response. It writes bytes
/// and knows no body format.
public struct FastCGIResponse: Sendable {
    /// Named statuses (`.notFound`) carry their reason phrase; a bare code (`404`) has none.
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPResponse.Status, headers: HTTPFields = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The bytes written to the FastCGI stdout stream, with `common` fields after the response's own.
    ///
    /// `HTTPFields` has already turned any CR or LF of a value into a space, so no value can start
    /// a header of its own.
    func serialized(adding common: HTTPFields = [:]) -> [UInt8] {
        var head = "Status: \(status.code)" + (status.reasonPhrase.isEmpty ? "" : " \(status.reasonPhrase)") + "\r\n"
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        for field in common { head += "\(field.name): \(field.value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }
}
