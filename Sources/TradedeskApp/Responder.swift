import Accounts
import Chat
import FastCGI
import HTTP
import Locking
import Logging
import Orders
import ProcessSupport
import Storage

/// The tradedesk responder: opens and migrates the database, builds the services and their routes,
/// serves FastCGI.
///
/// The responder owns the order of things. `start` starts the storage-facing services, then listens;
/// `shutdown` drains the FastCGI server (the orders answer while answers can still be written), then
/// shuts the services down in reverse, and joins every thread it started. `run` is the program:
/// start, wait for SIGTERM, shut down.
///
/// ```swift
/// let responder = Responder(configuration: configuration, logger: logger)
/// try responder.start()        // listening on configuration.fastCGI.listen
/// responder.shutdown()         // every thread joined, every descriptor closed
/// ```
///
/// When the database cannot be opened, it serves anyway: 503 naming the reason, and another try
/// every `databaseRetryInterval` on a thread of its own, until it opens (see `ResponderApplication`).
public final class Responder: Sendable {
    /// How often the database is tried again while it cannot be opened for writing.
    static let databaseRetryInterval: Duration = .seconds(2)

    public let configuration: ResponderConfiguration
    private let logger: Logger
    private let statistics = FastCGIStatistics()
    private let application: ResponderApplication
    private let server: FastCGIServer
    private let retry = WorkerThread(name: "database-retry")
    private let state = Locked(State())

    private struct State {
        var services: ResponderServices?
        /// The last failure to open the database that was logged: each different one is logged once.
        var loggedFailure: String?
        var retrying = false
    }

    /// Builds the FastCGI server; opens nothing and starts nothing.
    public init(configuration: ResponderConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        application = ResponderApplication(waitingBecause: "the server is starting", logger: logger)
        var fastCGI = configuration.fastCGI
        // No answer may be kept by a cache: they carry secrets (new tokens) and users' data.
        fastCGI.headersOnEveryAnswer = [.cacheControl: "no-store"]
        server = FastCGIServer(configuration: fastCGI, application: application, statistics: statistics, logger: logger)
    }

    /// Serves until SIGTERM. Call `ShutdownSignals.block()` first thing in `main`.
    public static func run(_ configuration: ResponderConfiguration, logger: Logger) throws {
        precondition(ShutdownSignals.areBlocked, "call ShutdownSignals.block() first thing in main")
        OwnThread.markCurrent()
        let responder = Responder(configuration: configuration, logger: logger)
        try responder.start()
        let signal = ShutdownSignals.wait()
        logger.notice("signal received", metadata: ["signal": "\(ShutdownSignals.name(of: signal))"])
        responder.shutdown()
    }

    /// Starts the services (or, while the database cannot be opened, the thread that tries again),
    /// then listens. If listening fails, what was started is shut down before the error is thrown.
    public func start() throws {
        do {
            let services = try ResponderServices.open(configuration, statistics: statistics, logger: logger)
            services.start()
            state.withLock { $0.services = services }
            _ = application.serve(services.application)
        } catch {
            failedToOpen(error)
            state.withLock { $0.retrying = true }
            retry.start { [self] in openAgain() }
        }
        do {
            try server.start()
        } catch {
            shutdown()
            throw error
        }
    }

    /// Stops trying the database, drains and stops the FastCGI server, then shuts the services down.
    public func shutdown() {
        retry.stopAndJoin()
        server.shutdown()
        let services = state.withLock { state in defer { state.services = nil }; return state.services }
        services?.shutdown()
    }

    /// One more try at the database, `databaseRetryInterval` after the last.
    private func openAgain() -> WorkerThread.Next {
        let first = state.withLock { state in defer { state.retrying = false }; return state.retrying }
        if first { return .after(Self.databaseRetryInterval) }
        do {
            let services = try ResponderServices.open(configuration, statistics: statistics, logger: logger)
            services.start()
            guard application.serve(services.application) else {
                services.shutdown()
                return .finished
            }
            state.withLock { $0.services = services }
            logger.notice("the database is available; serving")
            return .finished
        } catch {
            failedToOpen(error)
            return .after(Self.databaseRetryInterval)
        }
    }

    /// Serves 503 naming `error`, and logs it unless it is the failure logged last.
    private func failedToOpen(_ error: any Error) {
        application.wait(because: ResponderApplication.reason(for: error))
        let text = "\(error)"
        guard state.withLock({ state in defer { state.loggedFailure = text }; return state.loggedFailure != text }) else { return }
        logger.error("the database is not available; trying again",
                     metadata: ["error": "\(error)", "every": "\(Self.databaseRetryInterval)"])
    }

    public static func makeRouter(statistics: FastCGIStatistics, schema: any SchemaStatus, accounts: AccountService,
                                  gateway: OrderGateway, chat: ChatService) -> Router {
        var router = Router()
        HealthRoutes.register(in: &router, statistics: statistics, schema: schema, gateway: gateway, chat: chat)
        AccountRoutes.register(in: &router, accounts: accounts)
        OrderRoutes.register(in: &router, gateway: gateway, accounts: accounts)
        ChatRoutes.register(in: &router, chat: chat, accounts: accounts)
        return router
    }
}
