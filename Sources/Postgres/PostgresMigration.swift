import Logging

/// One versioned step of a PostgreSQL schema, as `Storage.Migration` is for SQLite: each module
/// owns its steps, the application lists them in order, and a step once shipped is never edited.
public struct PostgresMigration: Sendable {
    public let identifier: String
    /// One or more statements, run in the step's transaction.
    public let sql: String

    public init(_ identifier: String, sql: String) {
        self.identifier = identifier
        self.sql = sql
    }
}

extension PostgresDatabase {
    /// Runs the migrations not yet applied, in order, each in one transaction with its record in
    /// `tradedesk_migrations`; returns the identifiers it ran. Two programs migrating at once take
    /// turns (an advisory lock), so each step runs once.
    @discardableResult
    public func migrate(_ migrations: [PostgresMigration], logger: Logger? = nil) throws -> [String] {
        try withConnection { connection in
            // Under the lock too: two CREATE TABLE IF NOT EXISTS at once may both find no table,
            // and the second then fails on the catalog's unique index.
            try connection.transaction {
                try connection.query("SELECT pg_advisory_xact_lock(7204611)")
                try connection.execute("""
                    CREATE TABLE IF NOT EXISTS tradedesk_migrations (
                        seq bigint GENERATED ALWAYS AS IDENTITY,
                        identifier text PRIMARY KEY,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """)
            }
            var ran: [String] = []
            for migration in migrations {
                let applied = try connection.transaction { () -> Bool in
                    try connection.query("SELECT pg_advisory_xact_lock(7204611)")
                    let done = try connection.query("SELECT 1 FROM tradedesk_migrations WHERE identifier = $1", [migration.identifier])
                    guard done.rows.isEmpty else { return false }
                    try connection.execute(migration.sql)
                    try connection.query("INSERT INTO tradedesk_migrations (identifier) VALUES ($1)", [migration.identifier])
                    return true
                }
                if applied {
                    ran.append(migration.identifier)
                    logger?.notice("applied migration", metadata: ["migration": "\(migration.identifier)"])
                }
            }
            return ran
        }
    }

    /// Identifiers of the migrations applied, oldest first (none before the first `migrate`).
    public func appliedMigrations() throws -> [String] {
        try withConnection { connection in
            guard try connection.query("SELECT to_regclass('tradedesk_migrations') IS NOT NULL").scalar(Bool.self) == true else { return [] }
            return try connection.query("SELECT identifier FROM tradedesk_migrations ORDER BY seq")
                .rows.map { try $0.decode(0, as: String.self) }
        }
    }
}
