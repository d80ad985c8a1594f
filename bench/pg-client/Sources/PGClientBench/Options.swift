/// The command line both executables take, as `--name value` pairs:
///
///     --socket DIR   the server's unix-socket directory (required)
///     --query Q      lookup or insert (required)
///     --threads N    bench threads, each with its own connection (1)
///     --seconds S    the measured time (5), after --warmup S (1) that is not counted
///     --sessions N   lookups ask for ids 1...N (run.sh's rows); --users N inserts use 1...N
///     --db NAME, --user NAME   (postgres, postgres)
///     --api A        pgclient-nio only: prepared, async or query (see NIOSessionQueries)
public struct Options: Sendable {
    public enum Query: String, Sendable { case lookup, insert }

    public var socketDirectory: String
    public var query: Query
    public var threads = 1
    public var seconds = 5.0
    public var warmup = 1.0
    public var sessions: Int64 = 100_000
    public var users: Int64 = 1_000
    public var database = "postgres"
    public var user = "postgres"
    public var api = "prepared"

    /// Parses `arguments` (without the program name); throws on anything it does not know, so a
    /// typo in run.sh cannot silently measure the defaults.
    public init(_ arguments: [String]) throws {
        var values: [String: String] = [:]
        var rest = arguments[...]
        while let name = rest.popFirst() {
            guard name.hasPrefix("--"), let value = rest.popFirst() else { throw BenchError("expected --name value, got \(name)") }
            values[String(name.dropFirst(2))] = value
        }
        func take(_ name: String) -> String? { values.removeValue(forKey: name) }
        func number<T: LosslessStringConvertible>(_ name: String, _ fallback: T) throws -> T {
            guard let text = take(name) else { return fallback }
            guard let value = T(text) else { throw BenchError("--\(name): not a number: \(text)") }
            return value
        }
        guard let socket = take("socket") else { throw BenchError("--socket DIR is required") }
        guard let query = take("query").flatMap(Query.init(rawValue:)) else { throw BenchError("--query lookup|insert is required") }
        socketDirectory = socket
        self.query = query
        threads = try number("threads", threads)
        seconds = try number("seconds", seconds)
        warmup = try number("warmup", warmup)
        sessions = try number("sessions", sessions)
        users = try number("users", users)
        database = take("db") ?? database
        user = take("user") ?? user
        api = take("api") ?? api
        if let unknown = values.keys.sorted().first { throw BenchError("unknown option --\(unknown)") }
    }
}
