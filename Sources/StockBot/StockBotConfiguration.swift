import Configuration
import Foundation
import ProcessSupport
import Storage

/// How the bot works. The settings among these are read by ``init(reader:)`` from the variables
/// (and flags) their properties name; durations are seconds.
public struct StockBotConfiguration: Sendable {
    /// The database shared with the responder, of which the bot uses the job table alone.
    ///
    /// `DATABASE_URL` (`--database-url`, a `postgresql://` URI, best with a role of the bot's own:
    /// see the README) for PostgreSQL; otherwise `DATABASE_PATH` (`--database`), by default
    /// `tradedesk.sqlite`.
    public var database = DatabaseLocation.sqlite(path: "tradedesk.sqlite")
    /// The quote URL, with `{code}` where the code goes; http or https only.
    ///
    /// `STOCKBOT_QUOTE_URL` (`--quote-url`). The default is stooq's CSV (`QuoteClient.defaultTemplate`).
    public var quoteURL = QuoteClient.defaultTemplate
    /// Tries of a failing quote (HTTP error, timeout, garbage) before the apology.
    ///
    /// `STOCKBOT_MAX_ATTEMPTS` (`--max-attempts`), 1 to 20. The default is 3.
    public var maxAttempts = 3
    /// The first retry waits this long, each next one twice as long.
    ///
    /// `STOCKBOT_RETRY_BACKOFF` (`--retry-backoff`), 0 to 3600 s. The default is 1 s.
    public var retryBackoff: TimeInterval = 1
    /// A job claimed and not finished in this time is claimed again by any bot. The bot renews the
    /// lease of every job in hand each `lease / 3`, so a fetch slower than the lease keeps its job;
    /// only a bot that stopped or hangs loses it.
    ///
    /// `STOCKBOT_LEASE` (`--lease`), 1 to 3600 s. The default is 30 s.
    public var lease: TimeInterval = 30
    /// Quotes fetched at once, each on a thread of the bot's own.
    ///
    /// `STOCKBOT_CONCURRENCY` (`--concurrency`), 1 to 64. The default is 8.
    public var concurrency = 8
    public static let concurrencyRange = 1...64
    /// Jobs claimed and not finished, at most: those running and those waiting for their code's
    /// next fetch (many commands for one slow code would otherwise be claimed without end).
    public var maxJobsInHand: Int { concurrency * 32 }
    /// How often the bot asks the database whether anything was committed. The default is 50 ms.
    public var pollInterval: Duration = .milliseconds(50)
    /// Seconds to connect to the quote server: 3, or the whole request's timeout if that is shorter.
    public var connectTimeout = 3
    /// Seconds for the whole quote request, redirects included; need not fit in the lease.
    ///
    /// `STOCKBOT_TIMEOUT` (`--timeout`), 1 to 300. The default is 10.
    public var totalTimeout = 10
    /// This bot's name on the jobs it claims.
    public var owner = "stockbot-\(ProcessInfo.processInfo.hostName)-\(getpid())"

    /// The defaults.
    public init() {}

    /// The defaults, with each setting `reader` has in place of its default.
    ///
    /// - Throws: ``ConfigurationError`` naming the first setting that is set to a value it does
    ///   not allow, e.g. `STOCKBOT_CONCURRENCY must be 1 to 64 (quotes fetched at once), not 0`.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        database = try DatabaseLocation(reader: reader)
        quoteURL = reader.text(forKey: "stockbot.quoteUrl") ?? quoteURL
        guard quoteURL.contains("{code}") else {
            throw ConfigurationError("stockbot.quoteUrl", predicate: "must contain {code}: \(quoteURL)")
        }
        if let attempts = try Self.number("stockbot.maxAttempts", reader, as: Int.self) {
            guard (1...20).contains(attempts) else { throw ConfigurationError("stockbot.maxAttempts", predicate: "must be 1 to 20") }
            maxAttempts = attempts
        }
        if let backoff = try Self.number("stockbot.retryBackoff", reader, as: Double.self) {
            guard backoff >= 0, backoff <= 3600 else { throw ConfigurationError("stockbot.retryBackoff", predicate: "must be 0 to 3600 seconds") }
            retryBackoff = backoff
        }
        if let lease = try Self.number("stockbot.lease", reader, as: Double.self) {
            guard lease >= 1, lease <= 3600 else { throw ConfigurationError("stockbot.lease", predicate: "must be 1 to 3600 seconds") }
            self.lease = lease
        }
        if let timeout = try Self.number("stockbot.timeout", reader, as: Int.self) {
            guard (1...300).contains(timeout) else { throw ConfigurationError("stockbot.timeout", predicate: "must be 1 to 300 seconds") }
            totalTimeout = timeout
            connectTimeout = min(connectTimeout, timeout)
        }
        if let concurrency = try Self.number("stockbot.concurrency", reader, as: Int.self) {
            guard Self.concurrencyRange.contains(concurrency) else {
                throw ConfigurationError("stockbot.concurrency", predicate: "must be 1 to 64 (quotes fetched at once), not \(concurrency)")
            }
            self.concurrency = concurrency
        }
    }

    /// A number, or nil when unset; a value that is not one is refused, quoted safely for a log line.
    private static func number<T: LosslessStringConvertible>(_ key: AbsoluteConfigKey, _ reader: ConfigReader,
                                                             as type: T.Type) throws(ConfigurationError) -> T? {
        guard let text = reader.text(forKey: ConfigKey(key.components)) else { return nil }
        guard let number = T(text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigurationError(key, predicate: "must be a number, not '\(text.filter { $0.isASCII && !$0.isNewline }.prefix(40))'")
        }
        return number
    }

    /// The quote client for this configuration, its URL and libcurl options checked once on a probe
    /// handle (`QuoteClient.checkConfiguration`): the bot refuses to start rather than fail each job.
    public func quoteClient() throws(QuoteClient.Failure) -> QuoteClient {
        var client = QuoteClient(urlTemplate: quoteURL)
        client.connectTimeout = connectTimeout
        client.totalTimeout = totalTimeout
        try client.checkConfiguration()
        return client
    }

    /// The wait before the next try of a job that has failed `attempts` times.
    public func retryDelay(afterAttempts attempts: Int) -> TimeInterval {
        retryBackoff * pow(2, Double(max(0, attempts - 1)))
    }
}
