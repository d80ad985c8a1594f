import Foundation
import Testing

/// A responder process on a unix socket with a real nginx in front, in a temporary directory.
public final class ResponderStack: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let socket: String
    public let responder: ChildProcess
    public let nginx: Nginx
    public var port: UInt16 { nginx.port }

    /// Starts `executable` with `arguments(socketPath, directory)`; the environment gets the socket's
    /// group so that nginx's workers (www-data when the tests run as root) may connect.
    /// With `inheritSocket`, the test opens the listening socket itself and hands it over as that fd
    /// (0: spawn-fcgi style, 3: systemd style), as a service manager would.
    public init(executable: String, environment: [String: String] = [:], inheritSocket fd: Int32? = nil,
                arguments: (_ socket: String, _ directory: TemporaryDirectory) -> [String]) throws {
        directory = try TemporaryDirectory()
        socket = directory.file("responder.sock")
        var environment = environment
        if isRoot { environment["FCGI_SOCKET_GROUP"] = "www-data" }
        var passing: [Int32: Int32] = [:]
        if let fd { passing[fd] = try UnixListener.open(path: socket) }
        responder = try ChildProcess(executable, arguments(socket, directory), environment: environment,
                                     passing: passing, logPath: directory.file("responder.log"))
        for source in passing.values { close(source) }
        let socketPath = socket
        guard eventually(timeout: .seconds(20), { FileManager.default.fileExists(atPath: socketPath) }) else {
            throw TestFailure("the responder did not create its socket: \(responder.output)")
        }
        nginx = try Nginx(upstream: socket, directory: directory)
    }

    public func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = [],
                        timeout: Duration = .seconds(10)) throws -> HTTPResult {
        try HTTPClient.request(port: port, method, path, headers: headers, body: body, timeout: timeout)
    }

    public func json(_ method: String, _ path: String, _ object: Any, headers: [String: String] = [:]) throws -> HTTPResult {
        try HTTPClient.json(port: port, method, path, object, headers: headers)
    }

    /// Opens a connection and sends a request without waiting for the answer.
    public func open(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = []) throws -> HTTPConnection {
        let connection = try HTTPConnection(port: port)
        try connection.send(method, path, headers: headers, body: body)
        return connection
    }

    /// Race and leak reports from a responder built with --sanitize=thread or address.
    public var sanitizerReports: String? {
        let output = responder.output
        return output.contains("ThreadSanitizer") || output.contains("AddressSanitizer") ? output : nil
    }

    /// Stops nginx and the responder, and fails the running test if the responder (built with
    /// --sanitize=thread or address) reported a race or a memory error.
    public func stop() {
        nginx.stop()
        responder.stop()
        if let reports = sanitizerReports {
            Issue.record("the responder reported sanitizer findings:\n\(reports)")
        }
        directory.remove()
    }
}

extension ResponderStack {
    /// The real `tradedesk serve` on a unix socket, with its database in the stack's directory.
    public static func tradedesk(environment: [String: String] = [:]) throws -> ResponderStack {
        try ResponderStack(executable: Paths.product("tradedesk"), environment: environment) { socket, directory in
            ["serve", "--listen", "unix:\(socket)", "--database", directory.file("tradedesk.sqlite")]
        }
    }

    public var databasePath: String { directory.file("tradedesk.sqlite") }
}
