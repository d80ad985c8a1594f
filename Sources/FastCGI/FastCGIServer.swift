import CFastCGI
import Locking
import Logging
import ProcessSupport
#if canImport(Glibc)
import Glibc
#endif

/// A FastCGI responder that can hold requests: it accepts on a thread of its own, reads each request
/// whole on one of several request threads, hands it to the application, and lets the application
/// answer later from anywhere, once.
///
/// Constructing it opens nothing. `start` listens and starts its threads; `shutdown` stops accepting,
/// lets the application drain, answers what is still held with 503 and joins every thread. `run`
/// is both around a wait for SIGTERM, for a program that serves nothing else.
///
/// ```swift
/// ShutdownSignals.block()          // first thing in main
/// let server = FastCGIServer(configuration: .init(listen: .unix(path: "/run/app.sock")),
///                            application: app, logger: logger)
/// try server.run()                 // returns after SIGTERM, once everything held is answered
/// ```
public final class FastCGIServer: Sendable {
    public let configuration: FastCGIConfiguration
    public let statistics: FastCGIStatistics
    private let core: ServerCore
    private let running = Locked<Running?>(nil)

    private struct Running: Sendable {
        let socket: ListeningSocket
        let accept: AcceptLoop
    }

    public init(configuration: FastCGIConfiguration, application: any FastCGIApplication,
                statistics: FastCGIStatistics = FastCGIStatistics(), logger: Logger) {
        self.configuration = configuration
        self.statistics = statistics
        self.core = ServerCore(configuration: configuration, application: application,
                               statistics: statistics, logger: logger)
    }

    /// Serves until SIGTERM, SIGINT or SIGUSR1, then shuts down and returns.
    public func run() throws(FastCGIError) {
        precondition(ShutdownSignals.areBlocked, "call ShutdownSignals.block() first thing in main")
        OwnThread.markCurrent()
        try start()
        let signal = ShutdownSignals.wait()
        core.logger.notice("signal received", metadata: ["signal": "\(ShutdownSignals.name(of: signal))"])
        shutdown()
    }

    /// Opens the listening socket and starts the writers, the disconnect watcher, the request
    /// threads and the accept thread. Once only.
    public func start() throws(FastCGIError) {
        let initResult = FCGX_Init()
        guard initResult == 0 else { throw .initFailed(initResult) }
        ShutdownSignals.restoreDefaultHandlers()

        let socket = try ListeningSocket.open(configuration.listen, group: configuration.socketGroup,
                                              backlog: configuration.backlog)
        core.writers.start()
        core.watcher.start(onEvent: core.socketEvent)
        let accept = AcceptLoop(core: core, listenFD: socket.fd, requestThreads: configuration.requestThreads)
        accept.start()
        running.withLock { running in
            precondition(running == nil, "FastCGIServer started twice")
            running = Running(socket: socket, accept: accept)
        }
        core.logger.notice("listening", metadata: [
            "address": "\(configuration.listen)", "request_threads": "\(configuration.requestThreads)",
            "max_held": "\(configuration.maxHeldRequests)", "max_body_bytes": "\(configuration.maxBodyBytes)",
        ])
    }

    /// Stops accepting, lets the application answer what it holds (``FastCGIApplication/drain(before:)``,
    /// bounded by the drain timeout), answers anything still held with 503, flushes the writers and
    /// joins every thread. Does nothing if the server is not running.
    public func shutdown() {
        guard let running = running.withLock({ running in defer { running = nil }; return running }) else { return }
        core.logger.notice("shutting down", metadata: ["held": "\(statistics.held)"])
        core.beginStopping()
        running.accept.stop()
        // Without a successor on this socket nginx must stop using the kept connections at once.
        let successor = running.socket.successorPath
        if successor == nil {
            let closed = core.kept.closeAll()
            if closed > 0 { core.logger.info("closed idle kept connections", metadata: ["count": "\(closed)"]) }
        }
        running.socket.close()
        drain()
        core.watcher.stop()
        core.writers.shutdown()
        if let successor {
            KeptConnectionHandover.send(core.kept.takeAll(), to: successor, logger: core.logger)
        }
        core.logger.notice("stopped", metadata: ["accepted": "\(statistics.accepted)"])
    }

    private func drain() {
        let deadline = ContinuousClock.now + configuration.drainTimeout
        core.application.drain(before: deadline)
        if ContinuousClock.now > deadline {
            core.logger.warning("the application did not finish draining in time")
        }
        let remaining = core.registry.all()
        let answer = core.application.answer(for: .shuttingDown)
        for exchange in remaining { exchange.respond(answer) }
        if !remaining.isEmpty {
            core.logger.notice("answered held requests with 503", metadata: ["count": "\(remaining.count)"])
        }
    }
}
