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
        subcommands: [Serve.self, Migrate.self, Users.self, Tokens.self],
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
        abstract: "Apply pending database migrations and exit.", discussion: Settings.help(read))

    @OptionGroup var settings: Settings

    static func read(_ reader: ConfigReader) throws(ConfigurationError) -> (path: String, Logger.Level) {
        (ResponderConfiguration.databasePath(reader: reader), try LogSetup.level(reader: reader))
    }

    func run() throws {
        let (path, level) = try settings.read(Self.read)
        let logger = LogSetup.bootstrap(label: "tradedesk", level: level)
        let pool = try DatabaseFile.open(path: path)
        let applied = try DatabaseFile.migrate(pool, Schema.migrations, logger: logger)
        let total = try DatabaseFile.appliedMigrations(pool).count
        print("\(path): applied \(applied.count) migration(s); \(total) in total")
    }
}
