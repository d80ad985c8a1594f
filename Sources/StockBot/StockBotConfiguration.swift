import Foundation

/// How the bot works. Durations are seconds in the environment.
public struct StockBotConfiguration: Sendable {
    public var databasePath = "tradedesk.sqlite"
    /// `STOCKBOT_QUOTE_URL`: the quote URL with `{code}` where the code goes.
    public var quoteURL = QuoteClient.defaultTemplate
    /// Tries of a failing quote (HTTP error, timeout, garbage) before the apology (`STOCKBOT_MAX_ATTEMPTS`).
    public var maxAttempts = 3
    /// The first retry waits this long, each next one twice as long (`STOCKBOT_RETRY_BACKOFF`).
    public var retryBackoff: TimeInterval = 1
    /// A job claimed and not finished in this time is claimed again by any bot (`STOCKBOT_LEASE`).
    /// The bot renews the lease of every job in hand each `lease / 3`, so a fetch slower than the
    /// lease keeps its job; only a bot that stopped or hangs loses it.
    public var lease: TimeInterval = 30
    /// Quotes fetched at once, each on a thread of the bot's own (`STOCKBOT_CONCURRENCY`).
    public var concurrency = 8
    public static let concurrencyRange = 1...64
    /// Jobs claimed and not finished, at most: those running and those waiting for their code's
    /// next fetch (many commands for one slow code would otherwise be claimed without end).
    public var maxJobsInHand: Int { concurrency * 32 }
    /// How often the bot asks the database whether anything was committed (`STOCKBOT_POLL_INTERVAL`).
    public var pollInterval: Duration = .milliseconds(50)
    public var connectTimeout = 3
    public var totalTimeout = 10
    /// This bot's name on the jobs it claims.
    public var owner = "stockbot-\(ProcessInfo.processInfo.hostName)-\(getpid())"

    public init() {}

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
