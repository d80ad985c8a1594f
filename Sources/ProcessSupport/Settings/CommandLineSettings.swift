import Configuration
import Foundation
import Locking

/// The settings of one command: its flags ahead of the environment, in one `ConfigReader`.
///
/// A setting's key (`batchSize`) names both its environment variable (`BATCH_SIZE`) and its flag
/// (`--batch-size`), as swift-configuration's providers encode it, and a flag wins over the
/// variable. `flagKey` maps the few flags that are shorter than their variable (`--listen` reads
/// `fcgi.listen`, whose variable is `FCGI_LISTEN`).
///
/// ArgumentParser parses the command itself (subcommands, arguments, `--help`) and hands over what
/// it does not know: `arguments`. Those are checked against what the configuration read, so a
/// misspelt flag, a flag without its value or a stray word is refused as ArgumentParser would.
///
/// ```swift
/// let settings = CommandLineSettings(arguments: ["--batch-size", "2"])
/// let configuration = try settings.read { reader throws(ConfigurationError) in try OrdersConfiguration(reader: reader) }
/// ```
public struct CommandLineSettings: Sendable {
    private let arguments: [String]
    private let commandLine: KeyMappingProvider<CommandLineArgumentsProvider>
    private let environment: EnvironmentVariablesProvider

    public init(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                flagKey: @escaping @Sendable (AbsoluteConfigKey) -> AbsoluteConfigKey = { $0 }) {
        self.arguments = arguments
        // The provider skips its first argument, the program's name.
        commandLine = KeyMappingProvider(upstream: CommandLineArgumentsProvider(arguments: ["-"] + arguments), keyMapper: flagKey)
        self.environment = EnvironmentVariablesProvider(environmentVariables: environment)
    }

    /// What `body` reads from the flags and the environment.
    ///
    /// - Throws: `body`'s ``ConfigurationError``, with the flag named when the value was one; or an
    ///   ``ArgumentError`` for an argument that no setting `body` reads took.
    public func read<Value>(_ body: (ConfigReader) throws(ConfigurationError) -> Value) throws -> Value {
        let given = try Self.flags(in: arguments)
        let read = SettingsRead()
        let value: Value
        do {
            value = try body(ConfigReader(providers: [commandLine, environment], accessReporter: read))
        } catch {
            var error = error
            if let lookup = try? commandLine.value(forKey: error.key, type: .stringArray), lookup.value != nil {
                error.flag = lookup.encodedKey
            }
            throw error
        }
        let known = Set(read.settings.map(\.flag))
        if let unknown = given.first(where: { !known.contains($0) }) { throw ArgumentError("Unknown option '\(unknown)'") }
        return value
    }

    /// A line `--flag  VARIABLE` for each setting `body` reads, for a command's help: drawn from
    /// the reading itself, so that it lists what the command reads and nothing else.
    public static func help<Value>(flagKey: @escaping @Sendable (AbsoluteConfigKey) -> AbsoluteConfigKey = { $0 },
                                   _ body: (ConfigReader) throws(ConfigurationError) -> Value) -> String {
        let settings = CommandLineSettings(arguments: [], environment: [:], flagKey: flagKey)
        let read = SettingsRead()
        _ = try? body(ConfigReader(providers: [settings.commandLine, settings.environment], accessReporter: read))
        let width = read.settings.map(\.flag.count).max() ?? 0
        return """
            Settings, each a flag or an environment variable (the flag wins; meanings and defaults \
            in the README's configuration table):
            \(read.settings.map { "  \($0.flag.padding(toLength: width + 2, withPad: " ", startingAt: 0))\($0.variable)" }
                .joined(separator: "\n"))
            """
    }

    /// The flags among `arguments`, each of which must have a value: `--name value` or `--name=value`.
    static func flags(in arguments: [String]) throws(ArgumentError) -> [String] {
        var flags: [String] = []
        var awaitingValue: String?
        for argument in arguments {
            if argument.hasPrefix("--") {
                if let flag = awaitingValue { throw ArgumentError("Missing value for '\(flag)'") }
                if let equals = argument.firstIndex(of: "=") {
                    flags.append(String(argument[..<equals]))
                } else {
                    flags.append(argument)
                    awaitingValue = argument
                }
            } else if awaitingValue != nil {
                awaitingValue = nil
            } else {
                throw ArgumentError("Unexpected argument '\(argument)'")
            }
        }
        if let flag = awaitingValue { throw ArgumentError("Missing value for '\(flag)'") }
        return flags
    }
}

/// An argument that is no setting's flag, or lacks its value.
public struct ArgumentError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The settings a configuration read, in order, from the reader's access events: the first
/// provider is the command line, so its encoded key is the setting's flag.
private final class SettingsRead: AccessReporter {
    private let read = Locked<[(key: AbsoluteConfigKey, flag: String, variable: String)]>([])

    var settings: [(flag: String, variable: String)] { read.withLock { $0.map { ($0.flag, $0.variable) } } }

    func report(_ event: AccessEvent) {
        guard let flag = try? event.providerResults.first?.result.get().encodedKey else { return }
        let key = event.metadata.key
        read.withLock { read in
            if !read.contains(where: { $0.key == key }) {
                read.append((key, flag, ConfigurationError.variable(of: key)))
            }
        }
    }
}
