import Accounts
import Chat
import FastCGI
import Foundation
import JobQueue
import Logging
import Orders
import Storage
import Testing
import TestSupport
@testable import TradedeskApp

/// docs/openapi.yaml describes every route the responder serves, with its method.
struct OpenAPIDocumentTests {
    @Test func everyRouteIsDocumented() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try DatabaseFile.open(path: directory.file("db.sqlite"))
        try DatabaseFile.migrate(database, Schema.migrations)
        let logger = Logger(label: "test")
        let router = Responder.makeRouter(
            statistics: FastCGIStatistics(), schema: SQLiteSchemaStatus(database: database),
            accounts: AccountService(store: SQLiteAccountStore(database: database), configuration: AccountsConfiguration(), logger: logger),
            gateway: try OrderGateway(store: SQLiteOrderStore(database: database), configuration: OrdersConfiguration(),
                                      execution: MockExecutionServer(), logger: logger),
            chat: try ChatService(store: SQLiteChatStore(database: database), queue: SQLiteJobQueue(database: database),
                                  configuration: ChatConfiguration(), logger: logger))
        let document = try String(contentsOf: Paths.repository.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let lines = document.components(separatedBy: "\n")
        #expect(!router.routeList.isEmpty)
        for route in router.routeList {
            let (method, pattern) = (route.method.rawValue, route.pattern)
            let start = try #require(lines.firstIndex(of: "  \(pattern):"), "\(pattern) is missing from docs/openapi.yaml")
            let operations = lines[(start + 1)...].prefix { $0.hasPrefix("    ") || $0.isEmpty }
            #expect(operations.contains("    \(method.lowercased()):"), "\(method) \(pattern) is missing from docs/openapi.yaml")
        }
    }
}
