import Foundation
import GRDB
import JobQueue
import Locking
import Logging
import ProcessSupport
import Storage

/// The bot's process: claims command jobs, answers them, and never touches the chat tables.
///
/// It asks every `pollInterval` whether anything was committed (`DatabaseChangeWatcher`) and only
/// then tries to claim; it also tries once a second for retries that came due and leases that
/// expired. Quotes are fetched on this thread (blocking libcurl, bounded by its timeouts).
public final class StockBotWorker: Sendable {
    public let configuration: StockBotConfiguration
    private let jobs: JobQueue
    private let watcher: DatabaseChangeWatcher
    private let client: QuoteClient
    private let logger: Logger
    private let stopping = Locked(false)
    private let wake = DispatchSemaphore(value: 0)

    public init(configuration: StockBotConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let database = try DatabaseFile.open(path: configuration.databasePath)
        guard try database.read({ try $0.tableExists("job") }) else { throw NoJobTable(databasePath: configuration.databasePath) }
        jobs = JobQueue(database: database)
        watcher = try DatabaseChangeWatcher(path: configuration.databasePath)
        client = try configuration.quoteClient()
    }

    /// The worker once its database can be opened for writing and has the job table, trying every
    /// `retryInterval`; `nil` if SIGTERM or SIGINT comes first (call `ShutdownSignals.block()` first
    /// thing in `main`).
    ///
    /// Waiting beats exiting: a read-only or full file system, a missing folder or a database not
    /// yet migrated are the operator's to fix, and systemd would restart a bot that exits into its
    /// start limit and leave it down after the fix.
    public static func waitingForDatabase(configuration: StockBotConfiguration, logger: Logger,
                                          retryInterval: Duration = .seconds(2)) -> StockBotWorker? {
        var waited = false
        let worker = DatabaseFile.keepOpening(every: retryInterval, logger: logger, pause: { interval in
            guard let signal = ShutdownSignals.wait(timeout: interval) else { return false }
            logger.notice("stopped before the database was available", metadata: ["signal": "\(ShutdownSignals.name(of: signal))"])
            return true
        }, failed: { _ in waited = true }) {
            try StockBotWorker(configuration: configuration, logger: logger)
        }
        if worker != nil, waited { logger.notice("the database is available") }
        return worker
    }

    /// Works until SIGTERM or SIGINT (call `ShutdownSignals.block()` first thing in `main`).
    public func run() {
        OwnThread.detach(OwnThread.start(name: "stockbot-signal") { [self] in
            let signal = ShutdownSignals.wait()
            logger.notice("stopping after the current job", metadata: ["signal": "\(ShutdownSignals.name(of: signal))"])
            stop()
        })
        logger.notice("stockbot started", metadata: ["owner": "\(configuration.owner)", "quote_host": "\(client.quoteHost)"])
        var lastClaim = Date.distantPast
        while !stopping.withLock({ $0 }) {
            if watcher.changed() || Date().timeIntervalSince(lastClaim) >= 1 {
                lastClaim = Date()
                // Work through everything claimable before looking again.
                while !stopping.withLock({ $0 }), let job = claim() { handle(job) }
            }
            _ = wake.wait(timeout: .now() + configuration.pollInterval.seconds)
        }
        logger.notice("stockbot stopped")
    }

    public func stop() {
        stopping.withLock { $0 = true }
        wake.signal()
    }

    private func claim() -> Job? {
        do {
            return try jobs.claim(owner: configuration.owner, lease: configuration.lease)
        } catch {
            logger.error("could not claim a job", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Answers the job, or schedules a retry, or gives up with an apology. Every reply is a
    /// `BotReply`: fixed text, a validated code and a formatted price, never the user's or the quote
    /// server's text.
    func handle(_ job: Job) {
        guard let id = job.id else { return }
        do {
            switch BotCommand(job.command) {
            case .unknown:
                try finish(id, .help)
            case .badStockCode(let problem):
                try finish(id, .usage(problem))
            case .stock(let code):
                do {
                    switch try QuoteCSV.parse(try client.fetch(code: code)) {
                    case .quote(_, let close):
                        try finish(id, .quote(code, close: close))
                    case .unknownSymbol:
                        try finish(id, .noQuote(code))
                    }
                } catch let failure as QuoteClient.Failure {
                    switch failure {
                    case .transient:
                        try failed(job, code: code, error: failure.description)
                    case .redirectRefused(let quoteHost):
                        // Not retried: the quote service would redirect again.
                        try giveUp(job, error: failure.description, reply: .redirectRefused(code))
                        logger.warning("quote refused: the quote server redirected elsewhere",
                                       metadata: ["job": "\(id)", "quote_host": "\(quoteHost)"])
                    case .misconfigured:
                        try giveUp(job, error: failure.description, reply: .botFault(code))
                        logger.error("quote failed: libcurl refused the bot's request; fix the bot",
                                     metadata: ["job": "\(id)", "error": "\(failure)"])
                    }
                } catch {
                    try failed(job, code: code, error: "\(error)")
                }
            }
        } catch {
            logger.error("could not record the outcome of a job", metadata: ["job": "\(id)", "error": "\(error)"])
        }
    }

    /// The text to store: `reply.text`, which is plain ASCII by construction; should it ever not be,
    /// a fixed apology goes out instead and the fault is logged.
    private func text(of reply: BotReply, job id: Int64) -> String {
        let text = reply.text
        guard BotReply.isPlain(text) else {
            logger.error("a reply was not plain ASCII; sent a fixed apology instead", metadata: ["job": "\(id)"])
            return "Sorry, I could not answer that."
        }
        return text
    }

    private func finish(_ id: Int64, _ reply: BotReply) throws {
        if try jobs.answer(jobID: id, owner: configuration.owner, reply: text(of: reply, job: id)) {
            logger.info("job answered", metadata: ["job": "\(id)"])
        } else {
            logger.warning("job lost its lease before it was answered; another bot has it", metadata: ["job": "\(id)"])
        }
    }

    /// Ends the job at once with `reply` as its apology.
    private func giveUp(_ job: Job, error: String, reply: BotReply) throws {
        let id = job.id!
        if try !jobs.kill(jobID: id, owner: configuration.owner, error: error, apology: text(of: reply, job: id)) {
            logger.warning("job lost its lease before it was answered; another bot has it", metadata: ["job": "\(id)"])
        }
    }

    private func failed(_ job: Job, code: StockCode, error: String) throws {
        let id = job.id!
        if job.attempts >= configuration.maxAttempts {
            try giveUp(job, error: error, reply: .gaveUp(code, attempts: job.attempts))
            logger.warning("job dead", metadata: ["job": "\(id)", "attempts": "\(job.attempts)", "error": "\(error)"])
        } else {
            let delay = configuration.retryDelay(afterAttempts: job.attempts)
            try jobs.retry(jobID: id, owner: configuration.owner, error: error, retryAt: Date().addingTimeInterval(delay))
            logger.notice("quote failed; will retry", metadata: ["job": "\(id)", "attempt": "\(job.attempts)",
                                                                 "retry_in_s": "\(delay)", "error": "\(error)"])
        }
    }
}

/// The database opened, but nothing has migrated it yet.
struct NoJobTable: Error, CustomStringConvertible {
    let databasePath: String
    var description: String { "the database \(databasePath) has no job table yet: run tradedesk migrate" }
}
