import Chat
import Foundation
import JobQueue
import Postgres
import Storage
import TestSupport

/// The stores these tests run against, on a fresh database of `backend` for `directory`: the one
/// place that chooses the backend. Called again on the same directory, it gives a second set of
/// connections to the same database, as another process has. `clock` is what the chat store takes
/// as "now".
func makeStores(_ backend: TestBackend, in directory: String,
                clock: @escaping @Sendable () -> Date = { Date() }) throws -> (chat: any ChatStore, jobs: any JobQueue) {
    switch backend {
    case .sqlite:
        let database = try DatabaseFile.open(path: directory + "/db.sqlite")
        try DatabaseFile.migrate(database, JobQueueSchema.migrations + ChatSchema.migrations)
        return (SQLiteChatStore(database: database, clock: clock), SQLiteJobQueue(database: database))
    case .postgres:
        let database = try PostgresDatabase(url: postgresURL(in: directory))
        return (PostgresChatStore(database: database, clock: clock), PostgresJobQueue(database: database))
    }
}

/// The migrated PostgreSQL database of `directory` (see `PostgresServer.database(keptIn:)`).
func postgresURL(in directory: String) throws -> String {
    try PostgresServer.shared.database(keptIn: directory) {
        try PostgresDatabase(url: $0).migrate(JobQueueSchema.postgresMigrations + ChatSchema.postgresMigrations)
    }
}
