import Configuration

/// A setting whose value the program cannot use. Its text names the environment variable, says what
/// is allowed, and names the flag too when the value came from the command line:
/// `MAX_HELD_REQUESTS: 'lots' is not a whole number from 1 to 1000000 (given as --max-held-requests)`.
public struct ConfigurationError: Error, CustomStringConvertible {
    /// The setting's key, as the configuration read it (`maxHeldRequests`).
    public let key: AbsoluteConfigKey
    /// The environment variable of `key` (`MAX_HELD_REQUESTS`).
    public let variable: String
    /// Set by `CommandLineSettings` when the value was a flag.
    public var flag: String?
    private let problem: String

    /// `VARIABLE: problem`, where `problem` quotes the value and says what is allowed.
    public init(_ key: AbsoluteConfigKey, _ problem: String) {
        self.key = key
        self.variable = Self.variable(of: key)
        self.problem = ": " + problem
    }

    /// `VARIABLE predicate`: the stock bot's wording (`STOCKBOT_LEASE must be 1 to 3600 seconds`).
    public init(_ key: AbsoluteConfigKey, predicate: String) {
        self.key = key
        self.variable = Self.variable(of: key)
        self.problem = " " + predicate
    }

    public var description: String { variable + problem + (flag.map { " (given as \($0))" } ?? "") }

    /// The variable `EnvironmentVariablesProvider` looks up for `key`: its own encoding, asked of an
    /// empty environment, so that a message can never name another variable than the one read.
    public static func variable(of key: AbsoluteConfigKey) -> String {
        (try? EnvironmentVariablesProvider(environmentVariables: [:]).value(forKey: key, type: .string).encodedKey)
            ?? key.description
    }
}
