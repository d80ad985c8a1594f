import Foundation
import JobQueue
import Postgres
import Storage
import TestSupport

extension ResponderStack {
    /// The job queue of the stack's database, on connections of the test's own, as another process
    /// has them: the SQLite file, or PostgreSQL as `role` (the owner may do what the responder and
    /// the bot may, each with its own grants).
    func jobQueue(as role: DatabaseRole) throws -> any JobQueue {
        guard let url = databaseOptions(as: role).environment["DATABASE_URL"] else {
            return SQLiteJobQueue(database: try DatabaseFile.open(path: databasePath))
        }
        return PostgresJobQueue(database: try PostgresDatabase(url: url))
    }
}
