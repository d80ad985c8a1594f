import Accounts
import Chat
import Dispatch
import FastCGI
import GRDB
import HTTP
import Logging
import Orders
import ProcessSupport
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// The tradedesk responder: opens and migrates the database, builds the routes, serves FastCGI.
public enum Responder {
    /// How often the database is tried again while it cannot be opened for writing.
    static let databaseRetryInterval: Duration = .seconds(2)

    /// Serves until SIGTERM. Call `ShutdownSignals.block()` first thing in `main`.
    ///
    /// When the database cannot be opened, it serves anyway: 503 naming the reason, and another
    /// try every `databaseRetryInterval`, until it opens (see `ResponderApplication`).
    public static func run(_ configuration: ResponderConfiguration, logger: Logger) throws {
        let statistics = FastCGIStatistics()
        let application: ResponderApplication
        var retry: pthread_t?
        let stopRetrying = DispatchSemaphore(value: 0)
        do {
            application = ResponderApplication(serving: try start(configuration, statistics: statistics, logger: logger), logger: logger)
        } catch {
            let waiting = ResponderApplication(waitingBecause: ResponderApplication.reason(for: error), logger: logger)
            application = waiting
            retry = OwnThread.start(name: "database-retry") {
                let ready = DatabaseFile.keepOpening(
                    every: databaseRetryInterval, logger: logger, after: error,
                    pause: { stopRetrying.wait(timeout: .now() + $0.seconds) == .success },
                    failed: { waiting.wait(because: ResponderApplication.reason(for: $0)) }
                ) { try start(configuration, statistics: statistics, logger: logger) }
                if let ready, waiting.serve(ready) { logger.notice("the database is available; serving") }
            }
        }
        defer {
            stopRetrying.signal()
            if let retry { OwnThread.join(retry) }
        }
        var fastCGI = configuration.fastCGI
        // No answer may be kept by a cache: they carry secrets (new tokens) and users' data.
        fastCGI.headersOnEveryAnswer = [.cacheControl: "no-store"]
        try FastCGIServer(configuration: fastCGI, application: application, statistics: statistics, logger: logger).run()
    }

    /// The application. The database is opened, migrated and its orders recovered before the first
    /// thread starts, so that a failure there (the file's, not the code's) can simply be tried again.
    private static func start(_ configuration: ResponderConfiguration, statistics: FastCGIStatistics,
                              logger: Logger) throws -> HTTPApplication {
        let database = try DatabaseFile.open(path: configuration.databasePath)
        try DatabaseFile.migrate(database, Schema.migrations, logger: logger)
        let gateway = try OrderGateway(database: database, configuration: configuration.orders,
                                       execution: configuration.execution, logger: logger)
        let chat = try ChatService(database: database, path: configuration.databasePath, configuration: configuration.chat, logger: logger)
        let accounts = AccountService(database: database, configuration: configuration.accounts, logger: logger)
        let router = makeRouter(statistics: statistics, database: database, accounts: accounts, gateway: gateway, chat: chat)
        return HTTPApplication(router: router, logger: logger, heldPerOwner: configuration.maxHeldPerUser,
                               recognize: StorageFault.recognize, onDrain: {
            chat.shutdown()
            await gateway.shutdown()
        })
    }

    public static func makeRouter(statistics: FastCGIStatistics, database: DatabasePool, accounts: AccountService,
                                  gateway: OrderGateway, chat: ChatService) -> Router {
        var router = Router()
        HealthRoutes.register(in: &router, statistics: statistics, database: database, gateway: gateway, chat: chat)
        AccountRoutes.register(in: &router, accounts: accounts)
        OrderRoutes.register(in: &router, gateway: gateway, accounts: accounts)
        ChatRoutes.register(in: &router, chat: chat, accounts: accounts)
        return router
    }
}
