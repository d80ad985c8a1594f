import Configuration
import ProcessSupport

/// Where the data lives: the embedded SQLite file, or a PostgreSQL server that several machines
/// can share. Every program and command reads it the same way (`init(reader:)`).
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    /// The SQLite file, created 0640 if missing.
    case sqlite(path: String)
    /// A PostgreSQL database, by libpq's URI (`postgresql://user@host/db?sslmode=verify-full`,
    /// `postgresql:///db?host=/run/postgresql`).
    case postgres(url: String)

    /// `DATABASE_URL` (`--database-url`) selects PostgreSQL, whatever `DATABASE_PATH` says; without
    /// it, `DATABASE_PATH` (`--database`) names the SQLite file, `tradedesk.sqlite` by default.
    ///
    /// - Throws: ``ConfigurationError`` when `DATABASE_URL` is not a `postgresql://` URI.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        // Read even when the URL wins, so that `--database` beside a DATABASE_URL is no unknown flag.
        let path = reader.text(forKey: "database.path")
        if let url = reader.text(forKey: "database.url") {
            guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
                throw ConfigurationError("database.url", predicate: "must be a postgresql:// URI (libpq's form)")
            }
            self = .postgres(url: url)
        } else {
            self = .sqlite(path: path ?? "tradedesk.sqlite")
        }
    }

    /// The path, or the URL without its password: what logs and messages may show.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): Self.redacted(url)
        }
    }

    /// `url` with the password of its user part and any `password=` parameter replaced by `***`.
    public static func redacted(_ url: String) -> String {
        var text = Substring(url)
        var result = ""
        if let scheme = text.range(of: "://") {
            result += text[..<scheme.upperBound]
            text = text[scheme.upperBound...]
            let authorityEnd = text.firstIndex { $0 == "/" || $0 == "?" } ?? text.endIndex
            if let at = text[..<authorityEnd].lastIndex(of: "@"), let colon = text[..<at].firstIndex(of: ":") {
                result += text[..<colon] + ":***"
                text = text[at...]
            }
        }
        guard let query = text.firstIndex(of: "?") else { return result + text }
        result += text[...query]
        let parameters = text[text.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { parameter in
            parameter.lowercased().hasPrefix("password=") ? "password=***" : String(parameter)
        }
        return result + parameters.joined(separator: "&")
    }
}
