import ArgumentParser
import Foundation
import ProcessSupport
import Storage
import TradedeskApp

@main
struct Tradedesk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tradedesk",
        abstract: "The tradedesk FastCGI responder and its admin commands.",
        subcommands: [Serve.self, Migrate.self, Users.self, Tokens.self],
        defaultSubcommand: Serve.self)
}

/// Options shared by every subcommand that opens the database.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "SQLite file (env DATABASE_PATH; default tradedesk.sqlite).")
    var path: String?

    func environment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let path { environment[ResponderConfiguration.Variable.databasePath.rawValue] = path }
        return environment
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve FastCGI requests until SIGTERM. Flags override the environment variables named in --help.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "unix:/path, host:port, or inherit (systemd LISTEN_FDS or fd 0) (env FCGI_LISTEN; default inherit).")
    var listen: String?
    @Option(help: "Group of the unix socket, e.g. www-data (env FCGI_SOCKET_GROUP).")
    var socketGroup: String?
    @Option(help: "Request threads, which read and handle accepted requests (env FCGI_THREADS; default 4).")
    var threads: Int?
    @Option(help: "Largest request body in bytes (env MAX_BODY_BYTES; default 65536).")
    var maxBodyBytes: Int?
    @Option(help: "Most requests held at once (env MAX_HELD_REQUESTS; default 10000).")
    var maxHeldRequests: Int?
    @Option(help: "Seconds to answer held requests at shutdown (env DRAIN_TIMEOUT; default 5).")
    var drainTimeout: Double?
    @Option(help: "Orders per execution call (env BATCH_SIZE; default 10).")
    var batchSize: Int?
    @Option(help: "Seconds an order may wait for its batch (env ORDER_TIMEOUT; default 120).")
    var orderTimeout: Double?
    @Option(help: "Send a partial batch this many seconds after its first order (env BATCH_LINGER; default off).")
    var batchLinger: Double?
    @Option(help: "Seconds an execution call may take (env EXECUTION_TIMEOUT; default 10).")
    var executionTimeout: Double?
    @Option(name: .customLong("execution-latency-ms"), help: "The mock execution server's delay per call in ms (env EXECUTION_LATENCY_MS; default 0).")
    var executionLatencyMs: Int?
    @Option(help: "The mock rejects orders priced above this (env EXECUTION_REJECT_ABOVE).")
    var executionRejectAbove: String?
    @Option(help: "Fraction of the mock's calls that throw, 0–1 (env EXECUTION_FAIL_RATE; default 0).")
    var executionFailRate: Double?
    @Option(help: "What the mock's first calls do, e.g. fail,hang (env EXECUTION_FAULTS; default none).")
    var executionFaults: String?

    func run() throws {
        // Before anything can start a thread: every thread must inherit the blocked shutdown signals.
        ShutdownSignals.block()
        var environment = database.environment()
        let overrides: [(ResponderConfiguration.Variable, String?)] = [
            (.listen, listen), (.socketGroup, socketGroup), (.requestThreads, threads.map(String.init)),
            (.maxBodyBytes, maxBodyBytes.map(String.init)), (.maxHeldRequests, maxHeldRequests.map(String.init)),
            (.drainTimeout, drainTimeout.map { String($0) }),
            (.batchSize, batchSize.map(String.init)), (.orderTimeout, orderTimeout.map { String($0) }),
            (.batchLinger, batchLinger.map { String($0) }), (.executionTimeout, executionTimeout.map { String($0) }),
            (.executionLatency, executionLatencyMs.map(String.init)), (.executionRejectAbove, executionRejectAbove),
            (.executionFailRate, executionFailRate.map { String($0) }), (.executionFaults, executionFaults),
        ]
        for case let (variable, value?) in overrides { environment[variable.rawValue] = value }
        let configuration = try ResponderConfiguration(environment: environment)
        let logger = LogSetup.bootstrap(label: "tradedesk", environment: environment)
        try Responder.run(configuration, logger: logger)
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let environment = database.environment()
        let configuration = try ResponderConfiguration(environment: environment)
        let logger = LogSetup.bootstrap(label: "tradedesk", environment: environment)
        let pool = try DatabaseFile.open(path: configuration.databasePath)
        let applied = try DatabaseFile.migrate(pool, Schema.migrations, logger: logger)
        let total = try DatabaseFile.appliedMigrations(pool).count
        print("\(configuration.databasePath): applied \(applied.count) migration(s); \(total) in total")
    }
}
