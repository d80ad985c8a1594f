import Accounts
import FastCGI
import GRDB
import HTTP
import Logging
import Storage

/// The tradedesk responder: opens and migrates the database, builds the routes, serves FastCGI.
public enum Responder {
    /// Serves until SIGTERM. Call `ShutdownSignals.block()` first thing in `main`.
    public static func run(_ configuration: ResponderConfiguration, logger: Logger) throws {
        let database = try DatabaseFile.open(path: configuration.databasePath)
        try DatabaseFile.migrate(database, Schema.migrations, logger: logger)
        let statistics = FastCGIStatistics()
        let accounts = AccountService(database: database, configuration: configuration.accounts, logger: logger)
        let router = makeRouter(statistics: statistics, database: database, accounts: accounts)
        let server = FastCGIServer(
            configuration: configuration.fastCGI,
            application: HTTPApplication(router: router, logger: logger),
            statistics: statistics, logger: logger)
        try server.run()
    }

    public static func makeRouter(statistics: FastCGIStatistics, database: DatabasePool, accounts: AccountService) -> Router {
        var router = Router()
        HealthRoutes.register(in: &router, statistics: statistics, database: database)
        AccountRoutes.register(in: &router, accounts: accounts)
        return router
    }
}
