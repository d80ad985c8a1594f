import ArgumentParser
import Foundation
import Logging
import StockBot

@main
struct StockBotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stockbot", abstract: "Answers chat commands from the tradedesk job table.")

    @Option(help: "SQLite file shared with the responder (env DATABASE_PATH; default tradedesk.sqlite).")
    var database: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let level = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let path = database ?? environment["DATABASE_PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "tradedesk.sqlite"
        try StockBotWorker.run(databasePath: path, logger: Logger(label: "stockbot"))
    }
}
