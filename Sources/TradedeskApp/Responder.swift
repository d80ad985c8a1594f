import Accounts
import Chat
import FastCGI
import GRDB
import HTTP
import Logging
import Orders
import Storage

/// The tradedesk responder: opens and migrates the database, builds the routes, serves FastCGI.
public enum Responder {
    /// Serves until SIGTERM. Call `ShutdownSignals.block()` first thing in `main`.
    public static func run(_ configuration: ResponderConfiguration, logger: Logger) throws {
        let database = try DatabaseFile.open(path: configuration.databasePath)
        try DatabaseFile.migrate(database, Schema.migrations, logger: logger)
        let statistics = FastCGIStatistics()
        let accounts = AccountService(database: database, configuration: configuration.accounts, logger: logger)
        let gateway = try OrderGateway(database: database, configuration: configuration.orders,
                                       execution: configuration.execution, logger: logger)
        let chat = try ChatService(database: database, path: configuration.databasePath, configuration: configuration.chat, logger: logger)
        let router = makeRouter(statistics: statistics, database: database, accounts: accounts, gateway: gateway, chat: chat)
        let server = FastCGIServer(
            configuration: configuration.fastCGI,
            application: HTTPApplication(router: router, logger: logger, answerFor: { HTTPError(storageFault: $0) }, onDrain: {
                chat.shutdown()
                await gateway.shutdown()
            }),
            statistics: statistics, logger: logger)
        try server.run()
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
