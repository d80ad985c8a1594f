import ArgumentParser
import Configuration
import Logging
import ProcessSupport
import StockBot

@main
struct StockBotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stockbot",
        abstract: "Answers chat commands (/stock=CODE) from the tradedesk job table.",
        discussion: CommandLineSettings.help(flagKey: flagKey, read))

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Settings, as --flag value (listed above).", valueName: "setting"))
    var settings: [String] = []

    /// The bot's flags are its variables without `STOCKBOT_` (`--lease` for `STOCKBOT_LEASE`), and
    /// `--database` for `DATABASE_PATH` and `--database-url` for `DATABASE_URL`, as the responder's.
    static let flagKey: @Sendable (AbsoluteConfigKey) -> AbsoluteConfigKey = { key in
        if key == "database.path" { return "database" }
        return key.components.first == "stockbot" ? AbsoluteConfigKey(Array(key.components.dropFirst())) : key
    }

    static func read(_ reader: ConfigReader) throws(ConfigurationError) -> (StockBotConfiguration, Logger.Level) {
        (try StockBotConfiguration(reader: reader), try LogSetup.level(reader: reader))
    }

    func run() throws {
        ShutdownSignals.block()
        let configuration: StockBotConfiguration, level: Logger.Level
        do {
            (configuration, level) = try CommandLineSettings(arguments: settings, flagKey: Self.flagKey).read(Self.read)
        } catch {
            // A bad setting is a usage error (64), as a bad flag is.
            throw ValidationError("\(error)")
        }
        let logger = LogSetup.bootstrap(label: "stockbot", level: level)
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
