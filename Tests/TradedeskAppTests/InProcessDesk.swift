import Accounts
import Chat
import FastCGI
import Foundation
import HTTP
import HTTPTesting
import Logging
import Orders
import Storage
import TestSupport
@testable import TradedeskApp

/// The responder's real routes, middleware and error adapter over a fresh database, driven in
/// process by a `TestClient`: no nginx, no socket, no child process.
struct InProcessDesk {
    let directory: TemporaryDirectory
    let accounts: AccountService
    let gateway: OrderGateway
    let chat: ChatService
    let router: Router
    let client: TestClient

    init(orders: OrdersConfiguration = OrdersConfiguration(), accountsConfiguration: AccountsConfiguration = AccountsConfiguration(),
         heldPerOwner: Int = 32) throws {
        directory = try TemporaryDirectory()
        let stores = try Stores.sqlite(path: directory.file("db.sqlite"))
        let logger = Logger(label: "test")
        accounts = AccountService(store: stores.accounts, configuration: accountsConfiguration, logger: logger)
        gateway = try OrderGateway(store: stores.orders, configuration: orders, execution: MockExecutionServer(), logger: logger)
        chat = try ChatService(store: stores.chat, queue: stores.jobs, configuration: ChatConfiguration(), logger: logger)
        gateway.start()
        chat.start()
        accounts.start()
        router = Responder.makeRouter(statistics: FastCGIStatistics(), schema: stores.schema, accounts: accounts,
                                      gateway: gateway, chat: chat)
        client = TestClient(HTTPApplication(router: router, logger: logger, heldPerOwner: heldPerOwner,
                                            recognize: StorageFault.recognize))
    }

    func stop() async {
        accounts.shutdown()
        chat.shutdown()
        await gateway.shutdown()
        directory.remove()
    }

    /// A user with `password`, and the `Authorization` header of an API token of theirs.
    func user(_ name: String, password: String = "correct horse battery") throws -> [String: String] {
        let user = try accounts.store.createUser(username: name, passwordHash: PasswordHasher.hash(password))
        let (_, secret) = try accounts.store.createToken(userID: user.id!, name: "test", limit: 10)
        return ["Authorization": "Bearer \(secret)"]
    }
}
