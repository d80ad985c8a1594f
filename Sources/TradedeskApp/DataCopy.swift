import Foundation
import GRDB
import Logging
import Postgres
import Storage

/// `tradedesk copy-data`: moves a desk from its SQLite file to PostgreSQL, every row unchanged.
///
/// Both schemas have the same tables and columns, so the copy is table by table, in the order the
/// foreign keys need, each value read from SQLite as the Swift type of its PostgreSQL column
/// (`bigint` as `Int64`, `timestamptz` as `Date`, `bytea` as bytes, `boolean` from SQLite's 0 and 1).
/// All of it is one transaction: a copy that fails leaves the target as it was. Identities then
/// continue after the highest id SQLite ever gave (its `sqlite_sequence`), so that no id of a
/// deleted row is handed out again.
public enum DataCopy {
    /// Parents before children.
    static let tables = ["user", "session", "api_token", "batch", "trade_order", "room", "message", "job"]
    /// Rows sent in one `INSERT`.
    static let rowsPerInsert = 500

    /// A target that holds data already (more than the rooms its migrations create).
    public struct TargetNotEmpty: Error, CustomStringConvertible {
        public let table: String
        public let rows: Int
        public var description: String {
            "the target database holds data already (\(rows) row(s) in \(table)): copy-data copies into an empty database only"
        }
    }

    public struct SourceMissing: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "there is no SQLite file at \(path)" }
    }

    /// A source whose schema is older than this program's: migrate it first.
    public struct SourceNotMigrated: Error, CustomStringConvertible {
        public let missing: [String]
        public var description: String {
            "the SQLite file lacks \(missing.count) migration(s): run tradedesk migrate on it first"
        }
    }

    /// Migrates the target, copies every table, and returns each table's row count.
    @discardableResult
    public static func copy(fromSQLite path: String, toPostgres url: String, logger: Logger) throws -> [(table: String, rows: Int)] {
        guard FileManager.default.fileExists(atPath: path) else { throw SourceMissing(path: path) }
        let source = try DatabaseFile.open(path: path, readonly: true)
        let missing = Set(Schema.migrations.map(\.identifier)).subtracting(try DatabaseFile.appliedMigrations(source))
        guard missing.isEmpty else { throw SourceNotMigrated(missing: missing.sorted()) }
        let target = try PostgresDatabase(url: url)
        defer { target.close() }
        try target.migrate(Schema.postgresMigrations, logger: logger)
        return try source.read { sqlite in
            try target.transaction { postgres in
                try requireEmpty(postgres)
                // The rooms the migrations made are replaced by the source's own.
                try postgres.query("DELETE FROM room")
                var counts: [(String, Int)] = []
                for table in tables {
                    let rows = try copy(table, from: sqlite, to: postgres)
                    try continueIdentity(of: table, in: postgres, after: sqlite)
                    counts.append((table, rows))
                    logger.notice("copied a table", metadata: ["table": "\(table)", "rows": "\(rows)"])
                }
                return counts
            }
        }
    }

    private static func requireEmpty(_ postgres: PostgresConnection) throws {
        for table in tables {
            // The room the chat's first migration creates is there in any new database.
            let condition = table == "room" ? " WHERE NOT (id = 1 AND name_key = 'general')" : ""
            let rows = try postgres.query("SELECT count(*) FROM \(quoted(table))\(condition)").scalar(Int.self) ?? 0
            guard rows == 0 else { throw TargetNotEmpty(table: table, rows: rows) }
        }
    }

    private enum Kind { case integer, text, date, bytes, flag }

    private static func copy(_ table: String, from sqlite: Database, to postgres: PostgresConnection) throws -> Int {
        let columns = try postgres.query("""
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position
            """, [table]).rows.map { row -> (String, Kind) in
            let type = try row.decode(1, as: String.self)
            let kind: Kind = switch type {
            case "bigint", "integer", "smallint": .integer
            case "text", "character varying": .text
            case "timestamp with time zone", "timestamp without time zone": .date
            case "bytea": .bytes
            case "boolean": .flag
            default: throw PostgresError(.decoding, message: "\(table).\(try row.decode(0, as: String.self)) has type \(type), which copy-data does not know")
            }
            return (try row.decode(0, as: String.self), kind)
        }
        let names = columns.map { quoted($0.0) }.joined(separator: ", ")
        let cursor = try Row.fetchCursor(sqlite, sql: "SELECT \(names) FROM \(quoted(table)) ORDER BY rowid")
        var pending: [[any PostgresEncodable]] = []
        var copied = 0
        func flush() throws {
            guard !pending.isEmpty else { return }
            var placeholders: [String] = []
            var parameters: [any PostgresEncodable] = []
            for row in pending {
                let start = parameters.count
                placeholders.append("(" + (1...row.count).map { "$\(start + $0)" }.joined(separator: ", ") + ")")
                parameters += row
            }
            let inserted = try postgres.query("INSERT INTO \(quoted(table)) (\(names)) VALUES \(placeholders.joined(separator: ", "))", parameters)
            copied += inserted.affectedRows
            pending.removeAll(keepingCapacity: true)
        }
        while let row = try cursor.next() {
            pending.append(try columns.indices.map { index -> any PostgresEncodable in
                switch columns[index].1 {
                case .integer: try row.decode(Int64?.self, atIndex: index)
                case .text: try row.decode(String?.self, atIndex: index)
                case .date: try row.decode(Date?.self, atIndex: index)
                case .bytes: try row.decode(Data?.self, atIndex: index)
                case .flag: try row.decode(Bool?.self, atIndex: index)
                }
            })
            if pending.count == rowsPerInsert { try flush() }
        }
        try flush()
        return copied
    }

    /// Moves the table's identity, if it has one, past its highest id and past SQLite's sequence.
    private static func continueIdentity(of table: String, in postgres: PostgresConnection, after sqlite: Database) throws {
        guard let sequence = try postgres.query("SELECT pg_get_serial_sequence($1, 'id')", [quoted(table)]).scalar(String?.self) ?? nil else { return }
        let given = try Int64.fetchOne(sqlite, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table]) ?? 0
        let highest = try postgres.query("SELECT coalesce(max(id), 0) FROM \(quoted(table))").scalar(Int64.self) ?? 0
        let last = max(given, highest)
        guard last > 0 else { return }
        try postgres.query("SELECT setval($1::regclass, $2)", [sequence, last])
    }

    private static func quoted(_ identifier: String) -> String { "\"\(identifier)\"" }
}
