import Configuration
import HTTPTypes
import ProcessSupport

/// How the core listens and what it allows. The settings among these are read by
/// ``init(reader:)`` from the variables (and flags) their properties name.
public struct FastCGIConfiguration: Sendable {
    /// Where connections come from.
    ///
    /// `FCGI_LISTEN` (`--listen`): `unix:/path`, `host:port`, or `inherit` (a systemd socket,
    /// `LISTEN_FDS`, or a spawn-fcgi style listener on fd 0). The default is inherit.
    public var listen: ListenAddress
    /// Group of a unix socket the responder creates (nginx's `www-data`); the socket mode is 0660.
    ///
    /// `FCGI_SOCKET_GROUP` (`--socket-group`). The default is nil: the process's group.
    public var socketGroup: String?
    /// A unix socket refuses connections beyond its backlog at once (nginx answers 502). A thread
    /// of its own keeps it nearly empty, and it is as deep as the kernel allows by default
    /// (`net.core.somaxconn`, 4096) for when that thread is not scheduled in time.
    public var backlog: Int32 = 4096
    /// Threads that read accepted requests, each one whole, and run `handle` on them.
    ///
    /// `FCGI_THREADS` (`--threads`), 1 to 64. The default is 4.
    public var requestThreads: Int = 4
    /// Threads that write answers given from async code. The default is 2.
    public var writerThreads: Int = 2
    /// Larger bodies are answered 413 before the application sees them.
    ///
    /// `MAX_BODY_BYTES` (`--max-body-bytes`), 1 to 16 MiB. The default is 64 KiB.
    public var maxBodyBytes: Int = 64 * 1024
    /// Held requests beyond this are refused by `hold` (the application answers 503).
    ///
    /// `MAX_HELD_REQUESTS` (`--max-held-requests`), 1 to 1,000,000. The default is 10,000.
    public var maxHeldRequests: Int = 10_000
    /// How long the application may take to answer what it holds at shutdown.
    ///
    /// `DRAIN_TIMEOUT` (`--drain-timeout`), in seconds. The default is 5 s.
    public var drainTimeout: Duration = .seconds(5)
    /// Sent with every answer, the core's own included (none by default).
    public var headersOnEveryAnswer: HTTPFields = [:]

    public init(listen: ListenAddress) {
        self.listen = listen
    }

    /// The defaults, with each setting `reader` has in place of its default.
    ///
    /// - Throws: ``ConfigurationError`` naming the first setting that is set to a value it does
    ///   not allow, e.g. `FCGI_LISTEN: invalid listen address 'nowhere'`.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        do {
            listen = try ListenAddress(parsing: reader.text(forKey: "fcgi.listen") ?? "inherit")
        } catch {
            throw ConfigurationError("fcgi.listen", error.description)
        }
        socketGroup = reader.text(forKey: "fcgi.socketGroup")
        requestThreads = try reader.wholeNumber(forKey: "fcgi.threads", in: 1...64) ?? requestThreads
        maxBodyBytes = try reader.wholeNumber(forKey: "maxBodyBytes", in: 1...(16 << 20)) ?? maxBodyBytes
        maxHeldRequests = try reader.wholeNumber(forKey: "maxHeldRequests", in: 1...1_000_000) ?? maxHeldRequests
        drainTimeout = try reader.seconds(forKey: "drainTimeout") ?? drainTimeout
    }
}
