import Accounts
import Chat
import GRDB
import JobQueue
import Logging
import Orders
import Postgres
import Storage

/// Every module's store, on one database: the one place where the programs choose their backend.
public struct Stores: Sendable {
    public let accounts: any AccountStore
    public let chat: any ChatStore
    public let jobs: any JobQueue
    public let orders: any OrderStore
    public let schema: any SchemaStatus

    /// The stores at `location`.
    ///
    /// An SQLite file is opened for writing (see `DatabaseFile.open`) and migrated: one machine, one
    /// owner. A PostgreSQL database is migrated by its owner alone (`tradedesk migrate`), since the
    /// responder's role may not change tables: here it must be migrated already, and the error
    /// says to run `tradedesk migrate` when it is not.
    public static func open(_ location: DatabaseLocation, logger: Logger? = nil) throws -> Stores {
        switch location {
        case .sqlite(let path):
            return try sqlite(path: path, logger: logger)
        case .postgres(let url):
            let database = try PostgresDatabase(url: url)
            try requireMigrated(database, Schema.postgresMigrations.map(\.identifier))
            return postgres(database, logger: logger ?? Logger(label: "tradedesk"))
        }
    }

    /// The stores on the SQLite file at `path`, opened for writing and migrated to the current schema.
    public static func sqlite(path: String, logger: Logger? = nil) throws -> Stores {
        let database = try DatabaseFile.open(path: path)
        try DatabaseFile.migrate(database, Schema.migrations, logger: logger)
        return sqlite(database)
    }

    /// The stores on an open, migrated SQLite database.
    public static func sqlite(_ database: DatabasePool) -> Stores {
        Stores(accounts: SQLiteAccountStore(database: database), chat: SQLiteChatStore(database: database),
               jobs: SQLiteJobQueue(database: database), orders: SQLiteOrderStore(database: database),
               schema: SQLiteSchemaStatus(database: database))
    }

    /// The stores on a migrated PostgreSQL database; `logger` hears when the job queue's listening
    /// connection is lost and back.
    public static func postgres(_ database: PostgresDatabase, logger: Logger) -> Stores {
        Stores(accounts: PostgresAccountStore(database: database), chat: PostgresChatStore(database: database),
               jobs: PostgresJobQueue(database: database, logger: logger), orders: PostgresOrderStore(database: database),
               schema: PostgresSchemaStatus(database: database))
    }

    static func requireMigrated(_ database: PostgresDatabase, _ identifiers: [String]) throws {
        let applied = Set(try database.appliedMigrations())
        let missing = identifiers.filter { !applied.contains($0) }
        guard missing.isEmpty else { throw NotMigrated(missing: missing) }
    }
}

/// A PostgreSQL database whose owner has not yet run `tradedesk migrate` (or not since an upgrade).
public struct NotMigrated: Error, CustomStringConvertible {
    public let missing: [String]
    public var description: String {
        "the database lacks \(missing.count) migration(s) (\(missing.joined(separator: ", "))): run tradedesk migrate with the owner's DATABASE_URL"
    }
}

/// PostgreSQL's `SchemaStatus`: the migrations recorded in `tradedesk_migrations`.
struct PostgresSchemaStatus: SchemaStatus {
    let database: PostgresDatabase

    func appliedMigrations() throws -> [String] { try database.appliedMigrations() }
}
