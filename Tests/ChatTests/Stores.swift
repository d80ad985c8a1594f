import Chat
import Foundation
import JobQueue
import Storage

/// The stores these tests run against, on a fresh database in `directory`: the one place that
/// chooses the backend. Called again on the same directory, it gives a second set of connections
/// to the same database, as another process has. `clock` is what the chat store takes as "now".
func makeStores(in directory: String, clock: @escaping @Sendable () -> Date = { Date() }) throws -> (chat: any ChatStore, jobs: any JobQueue) {
    let database = try DatabaseFile.open(path: directory + "/db.sqlite")
    try DatabaseFile.migrate(database, JobQueueSchema.migrations + ChatSchema.migrations)
    return (SQLiteChatStore(database: database, clock: clock), SQLiteJobQueue(database: database))
}
