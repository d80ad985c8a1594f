import Foundation
import GRDB
import Storage
import Testing

/// Real SQLite failures, sorted into the disk's fault (503, retry later) and everything else.
final class StorageFaultTests {
    let path = NSTemporaryDirectory() + "storage-fault-\(UUID().uuidString).sqlite"

    deinit {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    private func database() throws -> DatabaseQueue {
        let database = try DatabaseQueue(path: path)
        try database.write { try $0.execute(sql: "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)") }
        return database
    }

    private func failure(_ body: () throws -> Void) -> (any Error)? {
        do { try body(); return nil } catch { return error }
    }

    @Test func aDatabaseThatCannotGrowIsAFullDisk() throws {
        let database = try database()
        let error = failure {
            try database.write { db in
                try db.execute(sql: "PRAGMA max_page_count = 3")
                for n in 0..<1000 { try db.execute(sql: "INSERT INTO note (text) VALUES (?)", arguments: ["note \(n) " + String(repeating: "x", count: 200)]) }
            }
        }
        #expect(error.flatMap(StorageFault.init) == .diskFull, "\(String(describing: error))")
    }

    @Test func aReadOnlyConnectionIsReadOnly() throws {
        _ = try database()
        var configuration = Configuration()
        configuration.readonly = true
        let readOnly = try DatabaseQueue(path: path, configuration: configuration)
        let error = failure { try readOnly.write { try $0.execute(sql: "INSERT INTO note (text) VALUES ('x')") } }
        #expect(error.flatMap(StorageFault.init) == .readOnly, "\(String(describing: error))")
    }

    @Test func aLockHeldTooLongIsBusy() throws {
        let holder = try database()
        var configuration = Configuration()
        configuration.busyMode = .immediateError
        let other = try DatabaseQueue(path: path, configuration: configuration)
        try holder.inDatabase { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            defer { try? db.execute(sql: "ROLLBACK") }
            let error = failure { try other.write { try $0.execute(sql: "INSERT INTO note (text) VALUES ('x')") } }
            #expect(error.flatMap(StorageFault.init) == .busy, "\(String(describing: error))")
        }
    }

    @Test func theRequestsOwnMistakesAreNotStorageFaults() throws {
        let database = try database()
        try database.write { try $0.execute(sql: "INSERT INTO note (text) VALUES ('same')") }
        let duplicate = failure { try database.write { try $0.execute(sql: "INSERT INTO note (text) VALUES ('same')") } }
        #expect(duplicate != nil)
        #expect(duplicate.flatMap(StorageFault.init) == nil)
        #expect(StorageFault(CancellationError()) == nil)
    }
}
