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

/// The PostgreSQL database of `directory`: made and migrated on the first call, its URL kept in
/// the directory for the next.
func postgresURL(in directory: String) throws -> String {
    let file = directory + "/postgres-url"
    if let url = try? String(contentsOfFile: file, encoding: .utf8) { return url }
    let url = try PostgresServer.shared.createDatabase()
    try PostgresDatabase(url: url).migrate(JobQueueSchema.postgresMigrations)
    try url.write(toFile: file, atomically: true, encoding: .utf8)
    return url
}
