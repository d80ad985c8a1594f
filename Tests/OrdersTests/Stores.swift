import Accounts
import Foundation
import Orders
import Storage

/// The stores these tests run against, on a fresh database in `directory`: the one place that
/// chooses the backend. Called again on the same directory, it opens the same database again, as
/// a restarted responder does.
func makeStores(in directory: String) throws -> (accounts: any AccountStore, orders: any OrderStore) {
    let database = try DatabaseFile.open(path: directory + "/db.sqlite")
    try DatabaseFile.migrate(database, AccountsSchema.migrations + OrdersSchema.migrations)
    return (SQLiteAccountStore(database: database), SQLiteOrderStore(database: database))
}
