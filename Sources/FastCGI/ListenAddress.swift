#if canImport(Glibc)
import Glibc
#endif

/// Where the responder takes connections from the web server.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A unix socket the responder creates (mode 0660, group configurable).
    case unix(path: String)
    /// A TCP socket, e.g. `127.0.0.1:9000`.
    case tcp(host: String, port: UInt16)
    /// A socket handed over by the parent: systemd socket activation (`LISTEN_FDS`, fd 3) or a
    /// spawn-fcgi style listener on fd 0.
    case inherited

    /// Parses `unix:/path`, `/path`, `host:port`, `[::1]:port` or `inherit`.
    public init(parsing text: String) throws(FastCGIError) {
        if text == "inherit" || text == "systemd" || text == "stdin" {
            self = .inherited
        } else if text.hasPrefix("unix:") {
            self = .unix(path: String(text.dropFirst(5)))
        } else if text.hasPrefix("/") || text.hasPrefix(".") {
            self = .unix(path: text)
        } else if let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 {
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self = .tcp(host: host.isEmpty ? "127.0.0.1" : host, port: port)
        } else {
            throw FastCGIError.invalidListenAddress(text)
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .inherited: "inherit"
        }
    }
}

public enum FastCGIError: Error, CustomStringConvertible {
    case invalidListenAddress(String)
    case socket(String, errno: Int32)
    case noInheritedSocket
    case unknownGroup(String)
    case initFailed(Int32)

    public var description: String {
        switch self {
        case .invalidListenAddress(let text):
            "invalid listen address '\(text)': use unix:/path, host:port or inherit"
        case .socket(let what, let code):
            "\(what): \(String(cString: strerror(code)))"
        case .noInheritedSocket:
            "no inherited socket: LISTEN_FDS is not set for this process and fd 0 is not a listening socket"
        case .unknownGroup(let name):
            "unknown group '\(name)' for the socket"
        case .initFailed(let code):
            "FCGX_Init failed (\(code))"
        }
    }
}
