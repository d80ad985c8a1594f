import Accounts
import Chat
import FastCGI
import HTTP
import Logging
import Orders
import Storage

/// The storage-facing services of one responder run, and the application that routes to them.
///
/// `open` opens and migrates the database, recovers its orders and builds every service, and starts
/// no thread, so that a failure there (the file's, not the code's) leaves nothing behind to stop and
/// can simply be tried again. The responder then starts them in order and shuts them down in reverse.
struct ResponderServices: Sendable {
    let gateway: OrderGateway
    let chat: ChatService
    let accounts: AccountService
    let application: HTTPApplication

    static func open(_ configuration: ResponderConfiguration, statistics: FastCGIStatistics,
                     logger: Logger) throws -> ResponderServices {
        let stores = try Stores.open(configuration.database, logger: logger)
        let gateway = try OrderGateway(store: stores.orders, configuration: configuration.orders,
                                       execution: configuration.execution, logger: logger)
        let chat = try ChatService(store: stores.chat, queue: stores.jobs, configuration: configuration.chat, logger: logger)
        let accounts = AccountService(store: stores.accounts, configuration: configuration.accounts, logger: logger)
        let router = Responder.makeRouter(statistics: statistics, schema: stores.schema, accounts: accounts, gateway: gateway, chat: chat)
        // At shutdown the FastCGI server drains the orders and the queued posts while it still
        // writes their answers.
        let application = HTTPApplication(router: router, logger: logger, heldPerOwner: configuration.maxHeldPerUser,
                                          recognize: StorageFault.recognize,
                                          onDrain: { deadline in
                                              chat.drain(before: deadline)
                                              gateway.drain(before: deadline)
                                          })
        return ResponderServices(gateway: gateway, chat: chat, accounts: accounts, application: application)
    }

    func start() {
        gateway.start()
        chat.start()
        accounts.start()
    }

    /// After the FastCGI server has stopped: joins every service's threads, the gateway's last, as
    /// it waits for the batches still executing and writes their outcomes.
    func shutdown() {
        accounts.shutdown()
        chat.shutdown()
        gateway.shutdown()
    }
}
