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
        // Each line's timestamp goes through localtime_r, which without TZ stats /etc/localtime on
        // every call, a syscall per access line; with TZ naming the file, glibc reads it once.
        setenv("TZ", ":/etc/localtime", 0)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
