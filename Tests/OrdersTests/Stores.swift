import Accounts
import Foundation
import Orders
import Postgres
import Storage
import TestSupport

/// The stores these tests run against, on a fresh database of `backend` in `directory`: the one
/// place that chooses the backend. Called again on the same directory, it opens the same database
/// again, as a restarted responder does.
func makeStores(_ backend: TestBackend, in directory: String) throws -> (accounts: any AccountStore, orders: any OrderStore) {
    switch backend {
    case .sqlite:
        let database = try DatabaseFile.open(path: directory + "/db.sqlite")
        try DatabaseFile.migrate(database, AccountsSchema.migrations + OrdersSchema.migrations)
        return (SQLiteAccountStore(database: database), SQLiteOrderStore(database: database))
    case .postgres:
        let database = try PostgresDatabase(url: try postgresURL(in: directory))
        try database.migrate(AccountsSchema.postgresMigrations + OrdersSchema.postgresMigrations)
        return (PostgresAccountStore(database: database), PostgresOrderStore(database: database))
    }
}

/// The PostgreSQL database of `directory`, made on first use (`PostgresServer.shared`) and named
/// in a file there: opening the directory again opens the same database, as with the SQLite file.
func postgresURL(in directory: String) throws -> String {
    let file = directory + "/postgres-url"
    if let url = try? String(contentsOfFile: file, encoding: .utf8) { return url }
    let url = try PostgresServer.shared.createDatabase()
    try url.write(toFile: file, atomically: true, encoding: .utf8)
    return url
}

/// Runs `body` on a thread of its own and waits for it without holding one of Swift's cooperative
/// threads, which the batchers of other tests need meanwhile.
func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Swift.Result { try body() }) }.start()
    }
}
