import Foundation
import GRDB

/// SQL on a stack's database, whichever the backend, for an end-to-end test that looks at what was
/// stored (or writes what a user could not): GRDB on the SQLite file, psql as the owner on
/// PostgreSQL. Each call is a connection of its own, as another process's would be.
///
/// The same SQL must read the same on both, so a test keeps to what both understand: literals it
/// builds itself (no `?` parameters; ``sqlTimestamp(_:)`` for a time), `true`/`false` for a
/// boolean column, and in a result, booleans turned into numbers (`CASE WHEN bot THEN 1 ELSE 0 END`)
/// and no times or fractions, which the two print differently.
///
/// ```swift
/// let orders = try stack.rows("SELECT id, status FROM trade_order ORDER BY id")   // [["1", "approved"], ...]
/// try stack.execute("UPDATE job SET attempts = 3 WHERE id = 1")
/// ```
extension ResponderStack {
    /// The rows `sql` (one query) returns, each column as text: an integer in decimal, text as it
    /// is, NULL as "".
    public func rows(_ sql: String) throws -> [[String]] {
        if let postgres { return try postgres.rows(sql: sql) }
        return try openSQLite().read { db in
            try Row.fetchAll(db, sql: sql).map { row in row.databaseValues.map(Self.text) }
        }
    }

    /// Runs `sql` (statements that return no rows) in one transaction.
    public func execute(_ sql: String) throws {
        if let postgres {
            try postgres.run(sql: "BEGIN;\n\(sql);\nCOMMIT;")
            return
        }
        try openSQLite().write { try $0.execute(sql: sql) }
    }

    /// `date` as a SQL literal of the column type the backend keeps times in, to the millisecond as
    /// the stores keep them: GRDB's `'YYYY-MM-DD HH:MM:SS.SSS'` in UTC on SQLite, the same with
    /// `+00` for PostgreSQL's `timestamptz`.
    public func sqlTimestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return "'\(formatter.string(from: date))\(postgres == nil ? "" : "+00")'"
    }

    /// Everything a reader of the stored data could find, for a test that searches it for what
    /// must never be stored. On SQLite, the bytes of the file, its WAL and its shared-memory file
    /// (free pages and old versions of rows included). On PostgreSQL, every row of every table of
    /// the database as text (bytea as `\x` and hex, so a test also searches for a secret's hex).
    public func storedData() throws -> Data {
        guard let postgres else {
            return ["", "-wal", "-shm"].reduce(into: Data()) { bytes, suffix in
                bytes += (try? Data(contentsOf: URL(fileURLWithPath: databasePath + suffix))) ?? Data()
            }
        }
        let tables = try postgres.rows(sql: "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
        return try tables.reduce(into: Data()) { bytes, table in
            bytes += Data(try postgres.run(sql: "SELECT t::text FROM \(table[0]) t").utf8)
        }
    }

    private func openSQLite() throws -> DatabaseQueue {
        var configuration = Configuration()
        // The responder may be writing: wait for its lock as its own connections do.
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: databasePath, configuration: configuration)
    }

    private static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: ""
        case .int64(let integer): String(integer)
        case .double(let double): String(double)
        case .string(let string): string
        case .blob(let data): "\\x" + data.map { String(format: "%02x", $0) }.joined()
        }
    }
}
