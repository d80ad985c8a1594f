import Accounts
import Chat
import FastCGI
import Foundation
import Logging
import Orders
import Testing
import TestSupport
@testable import TradedeskApp

/// docs/openapi.yaml describes every route the responder serves, with its method.
struct OpenAPIDocumentTests {
    @Test func everyRouteIsDocumented() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let stores = try Stores.sqlite(path: directory.file("db.sqlite"))
        let logger = Logger(label: "test")
        let router = Responder.makeRouter(
            statistics: FastCGIStatistics(), schema: stores.schema,
            accounts: AccountService(store: stores.accounts, configuration: AccountsConfiguration(), logger: logger),
            gateway: try OrderGateway(store: stores.orders, configuration: OrdersConfiguration(),
                                      execution: MockExecutionServer(), logger: logger),
            chat: try ChatService(store: stores.chat, queue: stores.jobs, configuration: ChatConfiguration(), logger: logger))
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
