import CFastCGI
import Dispatch
import Logging
import ProcessSupport
#if canImport(Glibc)
import Glibc
#endif

/// A FastCGI responder that can hold requests: it accepts on a thread of its own, reads each request
/// whole on one of several request threads, hands it to the application, and lets the application
/// answer later from anywhere, once.
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

    public init(configuration: FastCGIConfiguration, application: any FastCGIApplication,
                statistics: FastCGIStatistics = FastCGIStatistics(), logger: Logger) {
        self.configuration = configuration
        self.statistics = statistics
        self.core = ServerCore(configuration: configuration, application: application,
                               statistics: statistics, logger: logger)
    }

    /// Serves until SIGTERM, SIGINT or SIGUSR1, then drains and returns.
    ///
    /// Shutdown: stop accepting, let the application answer what it holds (``FastCGIApplication/drain()``,
    /// bounded by the drain timeout), answer anything still held with 503, flush the writers.
    public func run() throws(FastCGIError) {
        precondition(ShutdownSignals.areBlocked, "call ShutdownSignals.block() first thing in main")
        OwnThread.markCurrent()
        let initResult = FCGX_Init()
        guard initResult == 0 else { throw .initFailed(initResult) }
        ShutdownSignals.restoreDefaultHandlers()

        let socket = try ListeningSocket.open(configuration.listen, group: configuration.socketGroup,
                                              backlog: configuration.backlog)
        let watcherThread = OwnThread.start(name: "fcgi-watcher") { [core] in
            core.watcher.run(onEvent: core.socketEvent)
        }
        let accept = AcceptLoop(core: core, listenFD: socket.fd, requestThreads: configuration.requestThreads)
        accept.start()
        core.logger.notice("listening", metadata: [
            "address": "\(configuration.listen)", "request_threads": "\(configuration.requestThreads)",
            "max_held": "\(configuration.maxHeldRequests)", "max_body_bytes": "\(configuration.maxBodyBytes)",
        ])

        let signal = ShutdownSignals.wait()
        core.logger.notice("shutting down", metadata: ["signal": "\(ShutdownSignals.name(of: signal))",
                                                       "held": "\(statistics.held)"])
        core.beginStopping()
        accept.stop()
        socket.close()
        drain()
        core.watcher.stop()
        OwnThread.join(watcherThread)
        core.writers.finish()
        core.logger.notice("stopped", metadata: ["accepted": "\(statistics.accepted)"])
    }

    private func drain() {
        let finished = DispatchSemaphore(value: 0)
        let application = core.application
        Task.detached {
            await application.drain()
            finished.signal()
        }
        if finished.wait(timeout: .now() + configuration.drainTimeout.seconds) == .timedOut {
            core.logger.warning("the application did not finish draining in time")
        }
        let remaining = core.registry.all()
        let answer = application.answer(for: .shuttingDown)
        for exchange in remaining { exchange.respond(answer) }
        if !remaining.isEmpty {
            core.logger.notice("answered held requests with 503", metadata: ["count": "\(remaining.count)"])
        }
    }
}
