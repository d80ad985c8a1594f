import Configuration
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Logs go to stderr (journald adds the timestamp and unit).
public enum LogSetup {
    /// `LOG_LEVEL` (`--log-level`): `trace`, `debug`, `info` (the default), `notice` (drops the
    /// per-request access lines), `warning`, `error` or `critical`.
    public static func level(reader: ConfigReader) throws(ConfigurationError) -> Logger.Level {
        guard let text = reader.text(forKey: "logLevel") else { return .info }
        guard let level = Logger.Level(rawValue: text) else {
            throw ConfigurationError("logLevel", "'\(text)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return level
    }

    public static func bootstrap(label: String, level: Logger.Level) -> Logger {
        // Each line's timestamp is local time. Without TZ, glibc stats /etc/localtime for every
        // line to learn whether the zone changed: a system call per request. Named, it is read once.
        setenv("TZ", ":/etc/localtime", 0)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
