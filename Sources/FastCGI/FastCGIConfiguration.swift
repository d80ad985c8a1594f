import HTTPTypes

/// How the core listens and what it allows.
public struct FastCGIConfiguration: Sendable {
    public var listen: ListenAddress
    /// Group of a unix socket the responder creates (nginx's `www-data`); the socket mode is 0660.
    public var socketGroup: String?
    /// A unix socket refuses connections beyond its backlog at once (nginx answers 502). A thread
    /// of its own keeps it nearly empty, and it is as deep as the kernel allows by default
    /// (`net.core.somaxconn`, 4096) for when that thread is not scheduled in time.
    public var backlog: Int32 = 4096
    /// Threads that read accepted requests, each one whole, and run `handle` on them.
    public var requestThreads: Int = 4
    /// Threads that write answers given from async code.
    public var writerThreads: Int = 2
    /// Larger bodies are answered 413 before the application sees them.
    public var maxBodyBytes: Int = 64 * 1024
    /// Held requests beyond this are refused by `hold` (the application answers 503).
    public var maxHeldRequests: Int = 10_000
    /// How long the application may take to answer what it holds at shutdown.
    public var drainTimeout: Duration = .seconds(5)
    /// Sent with every answer, the core's own included (none by default).
    public var headersOnEveryAnswer: HTTPFields = [:]

    public init(listen: ListenAddress) {
        self.listen = listen
    }
}
