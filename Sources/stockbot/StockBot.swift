import ArgumentParser
import Foundation
import ProcessSupport
import StockBot

@main
struct StockBotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stockbot", abstract: "Answers chat commands from the tradedesk job table.")

    @Option(help: "SQLite file shared with the responder (env DATABASE_PATH; default tradedesk.sqlite).")
    var database: String?

    func run() throws {
        ShutdownSignals.block()
        let environment = ProcessInfo.processInfo.environment
        let logger = LogSetup.bootstrap(label: "stockbot", environment: environment)
        let path = database ?? environment["DATABASE_PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "tradedesk.sqlite"
        try StockBotWorker.run(databasePath: path, logger: logger)
    }
}
