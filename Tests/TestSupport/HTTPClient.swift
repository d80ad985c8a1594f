import Foundation

/// An HTTP/1.1 answer as the client saw it.
public struct HTTPResult: Sendable, CustomStringConvertible {
    public let status: Int
    /// Lower-case names.
    public let headers: [String: String]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body as a JSON object.
    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(text)")
        }
        return object
    }

    public var description: String { "\(status) \(text)" }
}

/// A raw client over a loopback socket: one request per connection (`Connection: close`), so a
/// test can hold a request open, watch for its answer, or walk away from it.
public final class HTTPConnection: @unchecked Sendable {
    private var fd: Int32
    private let port: UInt16

    /// `source` is the loopback address the connection comes from (any of 127.0.0.0/8), so that a
    /// test can be several clients as nginx's per-address limits see them.
    public init(port: UInt16, from source: String? = nil) throws {
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source { try call("bind to \(source)", address: source, port: 0, bind) }
        try call("connect to 127.0.0.1:\(port)", address: "127.0.0.1", port: port, connect)
    }

    /// `bind` or `connect` on the socket; on failure the socket is closed and the error names `what`.
    private func call(_ what: String, address: String, port: UInt16,
                      _ function: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) throws {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_addr.s_addr = inet_addr(address)
        socketAddress.sin_port = port.bigEndian
        let rc = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { function(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestFailure("\(what): \(String(cString: strerror(code)))")
        }
    }

    public func send(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = []) throws {
        // A `Host` among `headers` replaces the default one (nginx serves only its configured names).
        let host = headers.first { $0.key.lowercased() == "host" }?.value ?? "127.0.0.1:\(port)"
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers where name.lowercased() != "host" { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        try sendRaw(Array((head + "\r\n").utf8) + body)
    }

    /// Sends `bytes` as they are (say an HTTP/1.0 request without a Host header).
    public func sendRaw(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Whether any answer bytes arrive within `timeout`.
    public func hasAnswer(within timeout: Duration) -> Bool {
        var pollfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&pollfd, 1, Int32(timeout / .milliseconds(1))) > 0
    }

    /// Reads the whole answer (the server closes after it).
    public func readResult(timeout: Duration = .seconds(10)) throws -> HTTPResult {
        let deadline = ContinuousClock.now + timeout
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, hasAnswer(within: remaining) else {
                throw TestFailure("no complete answer within \(timeout); got: \(String(decoding: data, as: UTF8.self))")
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { throw TestFailure("recv failed: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            data += buffer[0..<n]
        }
        return try Self.parse(data)
    }

    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    deinit { close() }

    static func parse(_ data: [UInt8]) throws -> HTTPResult {
        guard let split = data.firstRange(of: Array("\r\n\r\n".utf8)) else {
            throw TestFailure("no HTTP head in: \(String(decoding: data, as: UTF8.self))")
        }
        let lines = String(decoding: data[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestFailure("bad status line: \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        var body = Array(data[split.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = try dechunk(body) }
        return HTTPResult(status: status, headers: headers, body: body)
    }

    private static func dechunk(_ data: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while let lineEnd = data[index...].firstRange(of: Array("\r\n".utf8)) {
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else { throw TestFailure("bad chunk size") }
            if size == 0 { break }
            out += data[lineEnd.upperBound..<(lineEnd.upperBound + size)]
            index = lineEnd.upperBound + size + 2
        }
        return out
    }
}

public enum HTTPClient {
    /// One request, answered whole.
    public static func request(port: UInt16, _ method: String, _ path: String, headers: [String: String] = [:],
                               body: [UInt8] = [], from source: String? = nil, timeout: Duration = .seconds(10)) throws -> HTTPResult {
        let connection = try HTTPConnection(port: port, from: source)
        defer { connection.close() }
        try connection.send(method, path, headers: headers, body: body)
        return try connection.readResult(timeout: timeout)
    }

    /// A JSON request.
    public static func json(port: UInt16, _ method: String, _ path: String, _ object: Any,
                            headers: [String: String] = [:], from source: String? = nil) throws -> HTTPResult {
        let body = try JSONSerialization.data(withJSONObject: object)
        return try request(port: port, method, path, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a },
                           body: Array(body), from: source)
    }
}
