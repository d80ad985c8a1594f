import Accounts
import Chat
import JobQueue
import Orders
import Storage

/// Every module's SQLite migrations, in the order they ship. Append only.
public enum Schema {
    public static let migrations: [Migration] =
        AccountsSchema.migrations + OrdersSchema.migrations + JobQueueSchema.migrations + ChatSchema.migrations
}
