import Foundation

/// A responder process on a unix socket with a real nginx in front, in a temporary directory.
public final class ResponderStack: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let socket: String
    public let responder: ChildProcess
    public let nginx: Nginx
    public var port: UInt16 { nginx.port }

    /// Starts `executable` with `arguments(socketPath, directory)`; the environment gets the socket's
    /// group so that nginx's workers (www-data when the tests run as root) may connect.
    public init(executable: String, environment: [String: String] = [:],
                arguments: (_ socket: String, _ directory: TemporaryDirectory) -> [String]) throws {
        directory = try TemporaryDirectory()
        socket = directory.file("responder.sock")
        var environment = environment
        if isRoot { environment["FCGI_SOCKET_GROUP"] = "www-data" }
        responder = try ChildProcess(executable, arguments(socket, directory), environment: environment,
                                     logPath: directory.file("responder.log"))
        let socketPath = socket
        guard eventually(timeout: .seconds(20), { FileManager.default.fileExists(atPath: socketPath) }) else {
            throw TestFailure("the responder did not create its socket: \(responder.output)")
        }
        nginx = try Nginx(socket: socket, directory: directory)
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

    public func stop() {
        nginx.stop()
        responder.stop()
        directory.remove()
    }
}
