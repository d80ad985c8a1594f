import ArgumentParser
import Foundation
import ProcessSupport
import StockBot

@main
struct StockBotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stockbot",
        abstract: "Answers chat commands (/stock=CODE) from the tradedesk job table. Flags override the environment.")

    @Option(help: "SQLite file shared with the responder (env DATABASE_PATH; default tradedesk.sqlite).")
    var database: String?
    @Option(help: "Quote URL with {code} (env STOCKBOT_QUOTE_URL; default stooq's CSV).")
    var quoteURL: String?
    @Option(help: "Tries of a failing quote before the apology (env STOCKBOT_MAX_ATTEMPTS; default 3).")
    var maxAttempts: Int?
    @Option(help: "Seconds before the first retry, doubling after (env STOCKBOT_RETRY_BACKOFF; default 1).")
    var retryBackoff: Double?
    @Option(help: "Seconds a claimed job is this bot's before any bot may claim it again (env STOCKBOT_LEASE; default 30).")
    var lease: Double?
    @Option(help: "Seconds for the whole quote request (env STOCKBOT_TIMEOUT; default 10).")
    var timeout: Int?

    func run() throws {
        ShutdownSignals.block()
        let environment = ProcessInfo.processInfo.environment
        let logger = LogSetup.bootstrap(label: "stockbot", environment: environment)
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        var configuration = StockBotConfiguration()
        configuration.databasePath = database ?? value("DATABASE_PATH") ?? configuration.databasePath
        configuration.quoteURL = quoteURL ?? value("STOCKBOT_QUOTE_URL") ?? configuration.quoteURL
        guard configuration.quoteURL.contains("{code}") else {
            throw ValidationError("STOCKBOT_QUOTE_URL must contain {code}: \(configuration.quoteURL)")
        }
        if let attempts = maxAttempts ?? value("STOCKBOT_MAX_ATTEMPTS").flatMap(Int.init) {
            guard (1...20).contains(attempts) else { throw ValidationError("STOCKBOT_MAX_ATTEMPTS must be 1 to 20") }
            configuration.maxAttempts = attempts
        }
        if let backoff = retryBackoff ?? value("STOCKBOT_RETRY_BACKOFF").flatMap(Double.init) {
            guard backoff >= 0, backoff <= 3600 else { throw ValidationError("STOCKBOT_RETRY_BACKOFF must be 0 to 3600 seconds") }
            configuration.retryBackoff = backoff
        }
        if let lease = lease ?? value("STOCKBOT_LEASE").flatMap(Double.init) {
            guard lease >= 1, lease <= 3600 else { throw ValidationError("STOCKBOT_LEASE must be 1 to 3600 seconds") }
            configuration.lease = lease
        }
        if let timeout = timeout ?? value("STOCKBOT_TIMEOUT").flatMap(Int.init) {
            guard (1...300).contains(timeout) else { throw ValidationError("STOCKBOT_TIMEOUT must be 1 to 300 seconds") }
            configuration.totalTimeout = timeout
            configuration.connectTimeout = min(configuration.connectTimeout, timeout)
        }
        // A quote URL or a libcurl option that cannot work stops the bot here, before any job.
        do {
            _ = try configuration.quoteClient()
        } catch {
            logger.critical("cannot start: \(error)", metadata: ["quote_host": "\(QuoteClient(urlTemplate: configuration.quoteURL).quoteHost)"])
            throw ExitCode(78)  // EX_CONFIG
        }
        StockBotWorker.waitingForDatabase(configuration: configuration, logger: logger)?.run()
    }
}
