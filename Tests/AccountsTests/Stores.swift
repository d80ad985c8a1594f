import Accounts
import Foundation
import Storage

/// The accounts store these tests run against, on a fresh database in `directory`: the one place
/// that chooses the backend.
func makeAccountStore(in directory: String) throws -> any AccountStore {
    let database = try DatabaseFile.open(path: directory + "/db.sqlite")
    try DatabaseFile.migrate(database, AccountsSchema.migrations)
    return SQLiteAccountStore(database: database)
}
