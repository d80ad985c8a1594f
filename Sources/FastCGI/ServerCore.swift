import ProcessSupport
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state every exchange shares with the server: counters, the watcher, the writers. The server
/// starts and stops the watcher and the writers.
final class ServerCore: Sendable {
    let configuration: FastCGIConfiguration
    let application: any FastCGIApplication
    let statistics: FastCGIStatistics
    let logger: Logger
    let registry = HeldRegistry()
    let watcher = DisconnectWatcher()
    let kept: KeptConnections
    let writers: ThreadPool
    private let stopping = Atomic<Bool>(false)
    private let nextID = Atomic<UInt64>(1)

    init(configuration: FastCGIConfiguration, application: any FastCGIApplication,
         statistics: FastCGIStatistics, logger: Logger) {
        self.configuration = configuration
        self.application = application
        self.statistics = statistics
        self.logger = logger
        self.kept = KeptConnections(statistics: statistics)
        self.writers = ThreadPool(name: "fcgi-writer", threads: configuration.writerThreads)
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }
    func beginStopping() { stopping.store(true, ordering: .releasing) }

    func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    func reserveHeldPlace() throws(HoldRefusal) {
        let limit = configuration.maxHeldRequests
        var current = statistics.heldCount.load(ordering: .relaxed)
        while true {
            guard current < limit else { throw .limitReached(limit: limit) }
            let (exchanged, original) = statistics.heldCount.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    func releaseHeldPlace() {
        statistics.heldCount.subtract(1, ordering: .relaxed)
    }

    func forgetHeld(_ exchange: FastCGIExchange) {
        registry.remove(exchange.id)
        releaseHeldPlace()
        exchange.released()
    }

    /// Writes the answer and ends the request; the connection is kept for nginx's next request, or
    /// closed. Runs on one of the core's threads.
    func write(_ response: FastCGIResponse, to connection: FastCGIConnection) {
        let written = connection.writeAnswer(response.serialized(adding: configuration.headersOnEveryAnswer))
        // Stdin has been read to its end before any answer, so closing at once cannot turn unread
        // input into a reset that loses the answer (libfcgi's own close waited up to 2 s for nginx
        // to close first, a round-trip per answer on a writer thread).
        if written && connection.keepConnection { kept.park(connection.fd, wasIdle: connection.wasIdleKept) } else { close(connection.fd) }
    }

    /// Closes the connection of a request whose client is gone, without writing to it.
    func abandon(_ connection: FastCGIConnection) {
        statistics.abandonedCount.add(1, ordering: .relaxed)
        close(connection.fd)
    }

    func completed(_ exchange: FastCGIExchange, status: Int?) {
        application.completed(exchange, status: status)
    }

    /// The client-gone report for the socket behind `token`.
    func socketEvent(token: UInt64) {
        registry.lookup(token)?.clientGone()
    }
}
