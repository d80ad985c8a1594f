import ArgumentParser
import Configuration
import Logging
import ProcessSupport
import Storage
import TradedeskApp

@main
struct Tradedesk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tradedesk",
        abstract: "The tradedesk FastCGI responder and its admin commands.",
        subcommands: [Serve.self, Migrate.self, Users.self, Tokens.self, CopyData.self],
        defaultSubcommand: Serve.self)
}

/// The settings of a command: the flags ArgumentParser does not know, handed to swift-configuration
/// ahead of the environment (`CommandLineSettings`). ArgumentParser parses the commands, their
/// arguments and `--help`; each setting is parsed once, by the configuration that reads it.
struct Settings: ParsableArguments {
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Settings, as --flag value (listed above).", valueName: "setting"))
    var arguments: [String] = []

    /// Flags shorter than their variable; every other flag is its variable's key (`--batch-size`
    /// for `BATCH_SIZE`).
    private static let shortFlags: [AbsoluteConfigKey: AbsoluteConfigKey] = [
        "database.path": "database", "fcgi.listen": "listen", "fcgi.socketGroup": "socketGroup", "fcgi.threads": "threads",
    ]
    private static let flagKey: @Sendable (AbsoluteConfigKey) -> AbsoluteConfigKey = { shortFlags[$0] ?? $0 }

    /// What `body` reads. A bad value throws its `ConfigurationError` (exit 1); a flag that `body`
    /// does not read is a usage error (exit 64).
    func read<Value>(_ body: (ConfigReader) throws(ConfigurationError) -> Value) throws -> Value {
        do {
            return try CommandLineSettings(arguments: arguments, flagKey: Self.flagKey).read(body)
        } catch let error as ArgumentError {
            throw ValidationError(error.description)
        }
    }

    /// The flags and variables `body` reads, for a command's `discussion`.
    static func help<Value>(_ body: (ConfigReader) throws(ConfigurationError) -> Value) -> String {
        CommandLineSettings.help(flagKey: flagKey, body)
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve FastCGI requests until SIGTERM.",
        discussion: Settings.help(read))

    @OptionGroup var settings: Settings

    /// Everything: the responder's configuration and the log level.
    static func read(_ reader: ConfigReader) throws(ConfigurationError) -> (ResponderConfiguration, Logger.Level) {
        (try ResponderConfiguration(reader: reader), try LogSetup.level(reader: reader))
    }

    func run() throws {
        // Before anything can start a thread: every thread must inherit the blocked shutdown signals.
        ShutdownSignals.block()
        let (configuration, level) = try settings.read(Self.read)
        let logger = LogSetup.bootstrap(label: "tradedesk", level: level)
        try Responder.run(configuration, logger: logger)
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and exit.",
        discussion: "On PostgreSQL, run it with the database owner's DATABASE_URL: it creates the tables, the roles tradedesk_responder and tradedesk_bot, and their grants.\n\n" + Settings.help(read))

    @OptionGroup var settings: Settings

    static func read(_ reader: ConfigReader) throws(ConfigurationError) -> (DatabaseLocation, Logger.Level) {
        (try DatabaseLocation(reader: reader), try LogSetup.level(reader: reader))
    }

    func run() throws {
        let (location, level) = try settings.read(Self.read)
        let logger = LogSetup.bootstrap(label: "tradedesk", level: level)
        let (applied, total) = try SchemaMigration.run(location, logger: logger)
        print("\(location): applied \(applied.count) migration(s); \(total) in total")
    }
}

struct CopyData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-data",
        abstract: "Copy a desk's SQLite database into an empty PostgreSQL database, unchanged, and exit.",
        discussion: """
            Migrates the target (run it with the owner's URL), then copies every row in one transaction: ids, \
            timestamps, password and token hashes, the order history. It refuses a target that holds data already. \
            Stop the responder and the bot first.
            """)

    @Option(help: "The SQLite file.") var from: String
    @Option(help: "The PostgreSQL database, as a postgresql:// URI.") var to: String

    func run() throws {
        let logger = LogSetup.bootstrap(label: "tradedesk", level: .notice)
        guard to.hasPrefix("postgresql://") || to.hasPrefix("postgres://") else {
            throw ValidationError("--to must be a postgresql:// URI (libpq's form)")
        }
        do {
            let copied = try DataCopy.copy(fromSQLite: from, toPostgres: to, logger: logger)
            for (table, rows) in copied { print("\(table)\t\(rows) row(s)") }
            print("copied \(from) to \(DatabaseLocation.redacted(to))")
        } catch let error as DataCopy.TargetNotEmpty {
            throw ValidationError(error.description)
        } catch let error as DataCopy.SourceMissing {
            throw ValidationError(error.description)
        }
    }
}
