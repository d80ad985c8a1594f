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
        return (PostgresAccountStore(database: database), PostgresOrderStore(database: database))
    }
}

/// The migrated PostgreSQL database of `directory` (see `PostgresServer.database(keptIn:)`).
func postgresURL(in directory: String) throws -> String {
    try PostgresServer.shared.database(keptIn: directory) {
        try PostgresDatabase(url: $0).migrate(AccountsSchema.postgresMigrations + OrdersSchema.postgresMigrations)
    }
}

/// Runs `body` on a thread of its own and waits for it without holding one of Swift's cooperative
/// threads, which the batchers of other tests need meanwhile.
func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Swift.Result { try body() }) }.start()
    }
}
