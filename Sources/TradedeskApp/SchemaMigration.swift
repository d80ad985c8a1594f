import Logging
import Postgres
import Storage

/// `tradedesk migrate`: the backend's migrations, applied by the database's owner.
public enum SchemaMigration {
    /// Applies what `location` lacks; returns the identifiers applied and how many are applied in all.
    public static func run(_ location: DatabaseLocation, logger: Logger) throws -> (applied: [String], total: Int) {
        switch location {
        case .sqlite(let path):
            let pool = try DatabaseFile.open(path: path)
            let applied = try DatabaseFile.migrate(pool, Schema.migrations, logger: logger)
            return (applied, try DatabaseFile.appliedMigrations(pool).count)
        case .postgres(let url):
            let database = try PostgresDatabase(url: url)
            defer { database.close() }
            do {
                let applied = try database.migrate(Schema.postgresMigrations, logger: logger)
                return (applied, try database.appliedMigrations().count)
            } catch let error as PostgresError where error.sqlState == "42501" {
                throw MigrationNotPermitted(cause: error)
            }
        }
    }
}

/// The migrating role lacks a privilege a step needs: it must own the database (and the schema
/// `public`), and may create the two group roles or find them made by a DBA.
public struct MigrationNotPermitted: Error, CustomStringConvertible {
    public let cause: PostgresError
    public var description: String {
        """
        \(cause)
        tradedesk migrate must run as the database's owner. If that role may not create roles, have a DBA run:
          CREATE ROLE tradedesk_responder NOLOGIN; CREATE ROLE tradedesk_bot NOLOGIN;
        then migrate again (see the README, "PostgreSQL").
        """
    }
}
