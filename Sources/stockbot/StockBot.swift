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
    @Option(help: "Seconds for the whole quote request, redirects included (env STOCKBOT_TIMEOUT; default 10).")
    var timeout: Int?
    @Option(help: "Quotes fetched at once, 1 to 64 (env STOCKBOT_CONCURRENCY; default 8).")
    var concurrency: Int?

    func run() throws {
        ShutdownSignals.block()
        let environment = ProcessInfo.processInfo.environment
        let logger = LogSetup.bootstrap(label: "stockbot", environment: environment)
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        // A value that is set but is not a number stops the bot rather than being ignored.
        func number<T: LosslessStringConvertible>(_ name: String, _ type: T.Type) throws -> T? {
            guard let text = value(name) else { return nil }
            guard let number = T(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("\(name) must be a number, not '\(text.filter { $0.isASCII && !$0.isNewline }.prefix(40))'")
            }
            return number
        }
        var configuration = StockBotConfiguration()
        configuration.databasePath = database ?? value("DATABASE_PATH") ?? configuration.databasePath
        configuration.quoteURL = quoteURL ?? value("STOCKBOT_QUOTE_URL") ?? configuration.quoteURL
        guard configuration.quoteURL.contains("{code}") else {
            throw ValidationError("STOCKBOT_QUOTE_URL must contain {code}: \(configuration.quoteURL)")
        }
        if let attempts = try maxAttempts ?? number("STOCKBOT_MAX_ATTEMPTS", Int.self) {
            guard (1...20).contains(attempts) else { throw ValidationError("STOCKBOT_MAX_ATTEMPTS must be 1 to 20") }
            configuration.maxAttempts = attempts
        }
        if let backoff = try retryBackoff ?? number("STOCKBOT_RETRY_BACKOFF", Double.self) {
            guard backoff >= 0, backoff <= 3600 else { throw ValidationError("STOCKBOT_RETRY_BACKOFF must be 0 to 3600 seconds") }
            configuration.retryBackoff = backoff
        }
        if let lease = try lease ?? number("STOCKBOT_LEASE", Double.self) {
            guard lease >= 1, lease <= 3600 else { throw ValidationError("STOCKBOT_LEASE must be 1 to 3600 seconds") }
            configuration.lease = lease
        }
        if let timeout = try timeout ?? number("STOCKBOT_TIMEOUT", Int.self) {
            guard (1...300).contains(timeout) else { throw ValidationError("STOCKBOT_TIMEOUT must be 1 to 300 seconds") }
            configuration.totalTimeout = timeout
            configuration.connectTimeout = min(configuration.connectTimeout, timeout)
        }
        if let concurrency = try concurrency ?? number("STOCKBOT_CONCURRENCY", Int.self) {
            guard StockBotConfiguration.concurrencyRange.contains(concurrency) else {
                throw ValidationError("STOCKBOT_CONCURRENCY must be 1 to 64 (quotes fetched at once), not \(concurrency)")
            }
            configuration.concurrency = concurrency
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
