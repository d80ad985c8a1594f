import Logging

/// Logs go to stderr (journald adds the timestamp and unit); `LOG_LEVEL` picks the level.
public enum LogSetup {
    public static func bootstrap(label: String, environment: [String: String]) -> Logger {
        let level = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
