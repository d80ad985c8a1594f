import Foundation
import JobQueue
import Storage

/// The queue these tests run against, on a fresh database in `directory`: the one place that
/// chooses the backend. Called again on the same directory, it gives a second set of connections
/// to the same database, as another process has.
func makeQueue(in directory: String) throws -> any JobQueue {
    let database = try DatabaseFile.open(path: directory + "/db.sqlite")
    try DatabaseFile.migrate(database, JobQueueSchema.migrations)
    return SQLiteJobQueue(database: database)
}
