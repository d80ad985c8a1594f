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

/// The PostgreSQL database of `directory`: made and migrated on the first call, its URL kept in
/// the directory for the next.
func postgresURL(in directory: String) throws -> String {
    let file = directory + "/postgres-url"
    if let url = try? String(contentsOfFile: file, encoding: .utf8) { return url }
    let url = try PostgresServer.shared.createDatabase()
    try PostgresDatabase(url: url).migrate(JobQueueSchema.postgresMigrations + ChatSchema.postgresMigrations)
    try url.write(toFile: file, atomically: true, encoding: .utf8)
    return url
}
