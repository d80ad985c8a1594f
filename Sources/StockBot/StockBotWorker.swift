import Foundation
import JobQueue
import Locking
import Logging
import Postgres
import ProcessSupport
import Storage

/// The bot's process: claims command jobs, answers them, and never touches the chat tables.
///
/// It asks every `pollInterval` whether jobs may have been queued (the queue's `ChangeWatch`) and
/// only then tries to claim; it also tries once a second for retries that came due and leases that
/// expired, and at once when a fetch ends and frees its slot. A watch that wakes the loop by itself
/// (a notification per new job) lets it look only once a second meanwhile, until the watch loses
/// its connection and the loop polls every `pollInterval` again.
///
/// Quotes are fetched on `concurrency` threads of the bot's own (`ThreadPool`, libcurl's blocking
/// easy interface, one handle per fetch), at most one fetch per code. Everything else (claims,
/// answers, lease renewals) happens on the bot's loop thread, which owns the jobs in hand:
///
/// - Each pass records what it decided for every job whose fetch ended since the last pass (and
///   the commands it answers without a fetch), and claims in one statement as many jobs as there
///   are free slots, all in one transaction (`JobQueue.answer(_:owner:now:thenClaim:lease:)`):
///   while one pass syncs to the disk, the fetches that end meanwhile wait for the next, so under
///   load one sync serves many jobs.
///
/// - A job for a code with no fetch running starts one, if a slot is free; the bot claims only
///   while a slot is free, so no claimed job waits for a slot.
/// - A job for a code whose running fetch started after the job was made waits for that fetch and
///   gets its answer (identical codes at the same time share one fetch, and no answer is older than
///   its request). A job made after that fetch started waits for the next one, which starts when the
///   running one ends and serves every job waiting for it. There is no other cache.
/// - The leases of every job in hand are renewed every `lease / 3`, so no lease expires while its
///   fetch runs, however slow the quote server; a bot that stops (or hangs) stops renewing and its
///   jobs are claimed again after their lease.
/// - On SIGTERM it claims nothing more, gives back (`release`) jobs whose fetch has not started,
///   lets the running fetches end (each bounded by `STOCKBOT_TIMEOUT`) and answers their jobs.
public final class StockBotWorker: Sendable {
    public let configuration: StockBotConfiguration
    private let jobs: any JobQueue
    private let watcher: any ChangeWatch
    private let client: QuoteClient
    private let logger: Logger
    private let stopping = Locked(false)
    /// Runs the loop below: claims, answers, renewals.
    private let loop = WorkerThread(name: "stockbot")
    /// What the loop keeps between its passes; only the loop's thread touches it.
    private let progress = Locked(Progress())
    private let fetchers: ThreadPool
    /// Fetches that ended, for the loop thread; the fetch threads only append.
    private let ended = Locked<[Fetched]>([])

    private struct Fetched: Sendable {
        let code: StockCode
        let outcome: Result<String, QuoteClient.Failure>
    }

    /// The worker on the job table at `configuration.database`.
    public convenience init(configuration: StockBotConfiguration, logger: Logger) throws {
        let queue: any JobQueue = switch configuration.database {
        case .sqlite(let path): SQLiteJobQueue(database: try DatabaseFile.open(path: path))
        case .postgres(let url): PostgresJobQueue(database: try PostgresDatabase(url: url, configuration: .init(maxConnections: 4)), logger: logger)
        }
        try self.init(configuration: configuration, queue: queue, logger: logger)
    }

    init(configuration: StockBotConfiguration, queue: any JobQueue, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        guard try queue.isInstalled() else { throw NoJobTable(database: configuration.database) }
        jobs = queue
        client = try configuration.quoteClient()
        fetchers = ThreadPool(name: "stockbot-fetch", threads: configuration.concurrency)
        watcher = try queue.changes(of: .newJobs) { [loop] in loop.wake() }
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

    /// The jobs in hand, owned by the run thread.
    private struct InHand {
        struct Fetch {
            /// When the fetch was handed to a thread: a job made before this may share its answer.
            let startedAt: Date
            var jobs: [Job]
        }
        /// At most one running fetch per code.
        var running: [StockCode: Fetch] = [:]
        /// Jobs made after their code's running fetch started: the next fetch of that code serves them.
        var waiting: [StockCode: [Job]] = [:]

        var count: Int { running.values.reduce(0) { $0 + $1.jobs.count } + waiting.values.reduce(0) { $0 + $1.count } }
        var ids: [Int64] { (running.values.flatMap(\.jobs) + waiting.values.flatMap { $0 }).compactMap(\.id) }
        var isEmpty: Bool { running.isEmpty && waiting.isEmpty }
    }

    private struct Progress {
        var hand = InHand()
        var lastClaim = Date.distantPast
        var lastRenewal = Date()
        var claimNow = true
        var released = false
    }

    /// Works until SIGTERM or SIGINT (call `ShutdownSignals.block()` first thing in `main`), or
    /// until `stop`; returns once every thread it started has ended.
    public func run() {
        let signals = ShutdownSignalThread()
        signals.start { [self] signal in
            logger.notice("stopping: finishing the fetches running, giving back the jobs not started",
                          metadata: ["signal": "\(ShutdownSignals.name(of: signal))"])
            stop()
        }
        fetchers.start()
        logger.notice("stockbot started", metadata: ["owner": "\(configuration.owner)", "quote_host": "\(client.quoteHost)",
                                                     "concurrency": "\(configuration.concurrency)"])
        loop.start { [self] in work() }
        loop.join()
        watcher.stop()
        fetchers.shutdown()
        signals.stopAndJoin()
        logger.notice("stockbot stopped")
    }

    public func stop() {
        stopping.withLock { $0 = true }
        loop.wake()
    }

    /// One pass of the loop; it runs again every `pollInterval`, or at once when a fetch ends.
    private func work() -> WorkerThread.Next {
        var progress = self.progress.withLock { $0 }
        defer { self.progress.withLock { $0 = progress } }
        let stopped = stopping.withLock { $0 }
        var decisions: [Decision] = []
        for fetched in ended.withLock({ list in defer { list = [] }; return list }) {
            let fetch = progress.hand.running.removeValue(forKey: fetched.code)
            decide(fetch?.jobs ?? [], code: fetched.code, outcome: fetched.outcome, into: &decisions)
            if let next = progress.hand.waiting.removeValue(forKey: fetched.code) {
                if stopped { release(next) } else { start(fetched.code, for: next, in: &progress.hand, on: fetchers) }
            }
            progress.claimNow = true
        }
        if stopped {
            record(decisions)
            if !progress.released {
                progress.released = true
                release(progress.hand.waiting.values.flatMap { $0 })
                progress.hand.waiting = [:]
            }
            if progress.hand.running.isEmpty { return .finished }
        } else if progress.claimNow || watcher.changed() || Date().timeIntervalSince(progress.lastClaim) >= 1 {
            progress.claimNow = false
            progress.lastClaim = Date()
            // Claim while a fetch could start at once (and within a bound on the jobs in hand):
            // each job taken starts at most one fetch, so as many as there are free slots. Each
            // claim carries the outcomes decided since the last one, in the same transaction.
            while true {
                let free = stopping.withLock({ $0 }) ? 0 : min(configuration.concurrency - progress.hand.running.count,
                                                              configuration.maxJobsInHand - progress.hand.count)
                guard free > 0 || !decisions.isEmpty else { break }
                let claimed = record(decisions, thenClaim: max(free, 0))
                decisions = []
                for job in claimed { take(job, into: &progress.hand, fetchers: fetchers, decisions: &decisions) }
                if claimed.isEmpty { break }
            }
            // What the last claim's commands were answered, when no slot is left for another claim.
            record(decisions)
        } else {
            record(decisions)
        }
        if !progress.hand.isEmpty, Date().timeIntervalSince(progress.lastRenewal) >= configuration.lease / 3 {
            progress.lastRenewal = Date()
            renew(progress.hand.ids)
        }
        return .after(watcher.wakesByItself ? Self.notifiedInterval : configuration.pollInterval)
    }

    /// How often the loop looks while the watch wakes it by itself: once a second, as it looks for
    /// retries come due and leases expired.
    static let notifiedInterval: Duration = .seconds(1)

    /// Answers a command at once (in `decisions`), or gives a stock code to its running fetch, its
    /// next fetch or a new one.
    private func take(_ job: Job, into hand: inout InHand, fetchers: ThreadPool, decisions: inout [Decision]) {
        guard let id = job.id else { return }
        switch BotCommand(job.command) {
        case .unknown:
            decisions.append(finish(id, .help))
        case .badStockCode(let problem):
            decisions.append(finish(id, .usage(problem)))
        case .stock(let code):
            if var fetch = hand.running[code] {
                // created_at is stored to the millisecond (rounded down): a millisecond of margin
                // keeps "made before the fetch started" strict.
                if job.createdAt.addingTimeInterval(0.001) <= fetch.startedAt {
                    fetch.jobs.append(job)
                    hand.running[code] = fetch
                } else {
                    hand.waiting[code, default: []].append(job)
                }
            } else {
                start(code, for: [job], in: &hand, on: fetchers)
            }
        }
    }

    private func start(_ code: StockCode, for waiting: [Job], in hand: inout InHand, on fetchers: ThreadPool) {
        hand.running[code] = InHand.Fetch(startedAt: Date(), jobs: waiting)
        let client = client
        fetchers.submit { [self] in
            let outcome = Result { () throws(QuoteClient.Failure) -> String in try client.fetch(code: code) }
            ended.withLock { $0.append(Fetched(code: code, outcome: outcome)) }
            loop.wake()
        }
    }

    /// What a fetch means for every job that waited for it.
    private enum Outcome {
        case reply(BotReply)
        case transient(String)
        case refused(BotReply, error: String, quoteHost: String)
        case misconfigured(BotReply, error: String)
    }

    /// An outcome to record for a job, and what to log once it is recorded.
    private struct Decision {
        let outcome: JobOutcome
        let recorded: () -> Void
    }

    /// Answers the jobs, or schedules their retries, or gives up with an apology (in `decisions`).
    /// Every reply is a `BotReply`: fixed text, a validated code and a formatted price, never the
    /// user's or the quote server's text.
    private func decide(_ waiting: [Job], code: StockCode, outcome fetched: Result<String, QuoteClient.Failure>,
                        into decisions: inout [Decision]) {
        let outcome: Outcome
        switch fetched {
        case .success(let body):
            do {
                switch try QuoteCSV.parse(body) {
                case .quote(_, let close): outcome = .reply(.quote(code, close: close))
                case .unknownSymbol: outcome = .reply(.noQuote(code))
                }
            } catch {
                outcome = .transient("\(error)")
            }
        case .failure(let failure):
            switch failure {
            case .transient: outcome = .transient(failure.description)
            // Not retried: the quote service would redirect again.
            case .redirectRefused(let quoteHost): outcome = .refused(.redirectRefused(code), error: failure.description, quoteHost: quoteHost)
            case .misconfigured: outcome = .misconfigured(.botFault(code), error: failure.description)
            }
        }
        for job in waiting {
            guard let id = job.id else { continue }
            switch outcome {
            case .reply(let reply):
                decisions.append(finish(id, reply))
            case .transient(let error):
                decisions.append(failed(job, code: code, error: error))
            case .refused(let reply, let error, let quoteHost):
                decisions.append(giveUp(job, error: error, reply: reply) { [logger] in
                    logger.warning("quote refused: the quote server redirected elsewhere",
                                   metadata: ["job": "\(id)", "quote_host": "\(quoteHost)"])
                })
            case .misconfigured(let reply, let error):
                decisions.append(giveUp(job, error: error, reply: reply) { [logger] in
                    logger.error("quote failed: libcurl refused the bot's request; fix the bot",
                                 metadata: ["job": "\(id)", "error": "\(error)"])
                })
            }
        }
    }

    /// Records every decision in one transaction; a job whose lease was lost keeps its new owner's
    /// outcome. If the transaction fails, the jobs stay claimed and are claimed again once their
    /// leases expire.
    private func record(_ decisions: [Decision]) {
        _ = record(decisions, thenClaim: 0)
    }

    /// Records the decisions and claims up to `limit` jobs in one transaction; returns the jobs claimed.
    private func record(_ decisions: [Decision], thenClaim limit: Int) -> [Job] {
        guard !decisions.isEmpty || limit > 0 else { return [] }
        do {
            let (recorded, claimed) = try jobs.answer(decisions.map(\.outcome), owner: configuration.owner, now: Date(),
                                                      thenClaim: limit, lease: configuration.lease)
            for decision in decisions {
                if recorded.contains(decision.outcome.jobID) {
                    decision.recorded()
                } else {
                    logger.warning("job lost its lease before it was answered; another bot has it",
                                   metadata: ["job": "\(decision.outcome.jobID)"])
                }
            }
            return claimed
        } catch {
            logger.error(decisions.isEmpty ? "could not claim a job" : "could not record the outcome of jobs", metadata: [
                "jobs": "\(decisions.map { String($0.outcome.jobID) }.joined(separator: ","))", "error": "\(error)",
            ])
            return []
        }
    }

    private func renew(_ ids: [Int64]) {
        do {
            let renewed = try jobs.renew(jobIDs: ids, owner: configuration.owner, lease: configuration.lease)
            for id in ids where !renewed.contains(id) {
                logger.warning("job lost its lease while in hand; another bot may have it", metadata: ["job": "\(id)"])
            }
        } catch {
            logger.error("could not renew leases", metadata: ["jobs": "\(ids.count)", "error": "\(error)"])
        }
    }

    /// Gives jobs whose fetch never started back to the queue (not counted as an attempt).
    private func release(_ waiting: [Job]) {
        for job in waiting {
            guard let id = job.id else { continue }
            do {
                if try jobs.release(jobID: id, owner: configuration.owner) {
                    logger.notice("job given back at shutdown", metadata: ["job": "\(id)"])
                }
            } catch {
                logger.error("could not give a job back", metadata: ["job": "\(id)", "error": "\(error)"])
            }
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

    private func finish(_ id: Int64, _ reply: BotReply) -> Decision {
        Decision(outcome: .answered(jobID: id, reply: text(of: reply, job: id))) { [logger] in
            logger.info("job answered", metadata: ["job": "\(id)"])
        }
    }

    /// Ends the job at once with `reply` as its apology.
    private func giveUp(_ job: Job, error: String, reply: BotReply, recorded: @escaping () -> Void = {}) -> Decision {
        let id = job.id!
        return Decision(outcome: .dead(jobID: id, error: error, apology: text(of: reply, job: id)), recorded: recorded)
    }

    private func failed(_ job: Job, code: StockCode, error: String) -> Decision {
        let id = job.id!
        if job.attempts >= configuration.maxAttempts {
            return giveUp(job, error: error, reply: .gaveUp(code, attempts: job.attempts)) { [logger] in
                logger.warning("job dead", metadata: ["job": "\(id)", "attempts": "\(job.attempts)", "error": "\(error)"])
            }
        }
        let delay = configuration.retryDelay(afterAttempts: job.attempts)
        return Decision(outcome: .retry(jobID: id, error: error, at: Date().addingTimeInterval(delay))) { [logger] in
            logger.notice("quote failed; will retry", metadata: ["job": "\(id)", "attempt": "\(job.attempts)",
                                                                 "retry_in_s": "\(delay)", "error": "\(error)"])
        }
    }
}

/// The database opened, but nothing has migrated it yet.
struct NoJobTable: Error, CustomStringConvertible {
    let database: DatabaseLocation
    var description: String { "the database \(database) has no job table yet: run tradedesk migrate" }
}
