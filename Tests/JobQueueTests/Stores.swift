import Foundation
import JobQueue
import Postgres
import Storage
import TestSupport

/// The queue these tests run against, on a fresh database of `backend` for `directory`: the one
/// place that chooses the backend. Called again on the same directory, it gives a second set of
/// connections to the same database, as another process has.
func makeQueue(_ backend: TestBackend, in directory: String) throws -> any JobQueue {
    switch backend {
    case .sqlite:
        let database = try DatabaseFile.open(path: directory + "/db.sqlite")
        try DatabaseFile.migrate(database, JobQueueSchema.migrations)
        return SQLiteJobQueue(database: database)
    case .postgres:
        return PostgresJobQueue(database: try PostgresDatabase(url: postgresURL(in: directory)))
    }
}

/// The migrated PostgreSQL database of `directory` (see `PostgresServer.database(keptIn:)`).
func postgresURL(in directory: String) throws -> String {
    try PostgresServer.shared.database(keptIn: directory) { try PostgresDatabase(url: $0).migrate(JobQueueSchema.postgresMigrations) }
}
