import GRDB

/// SQLite's `ChangeWatch`: whether another connection, or another process, committed to the
/// database file since the last look. It asks SQLite for `PRAGMA data_version` on a read-only
/// connection of its own: a few microseconds, so a process that waits for another one's writes can
/// look often and stay idle. (GRDB's `ValueObservation` sees only its own process's writes.)
public final class DatabaseChangeWatcher: ChangeWatch, @unchecked Sendable {
    private let connection: DatabaseQueue
    private var seen: Int?

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        connection = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// `true` the first time, after any commit since the previous call, and after a failed look.
    /// Call it from one thread.
    public func changed() -> Bool {
        let version = try? connection.read { try Int.fetchOne($0, sql: "PRAGMA data_version") }
        defer { seen = version }
        return version == nil || version != seen
    }
}
