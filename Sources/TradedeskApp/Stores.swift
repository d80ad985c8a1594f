import Accounts
import Chat
import GRDB
import JobQueue
import Logging
import Orders
import Storage

/// Every module's store, on one database: the one place where the programs choose their backend.
public struct Stores: Sendable {
    public let accounts: any AccountStore
    public let chat: any ChatStore
    public let jobs: any JobQueue
    public let orders: any OrderStore
    public let schema: any SchemaStatus

    /// The stores on the SQLite file at `path`, opened for writing (see `DatabaseFile.open`) and
    /// migrated to the current schema.
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
}
