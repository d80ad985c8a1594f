import Foundation
import GRDB
import Storage
import Testing

struct DatabaseFileTests {
    let directory: String = {
        let path = NSTemporaryDirectory() + "storage-test-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    let migrations = [
        Migration("v1-notes") { db in try db.execute(sql: "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)") },
        Migration("v2-note-author") { db in try db.execute(sql: "ALTER TABLE note ADD COLUMN author TEXT") },
    ]

    @Test func createsAFileInWALModeThatOthersCannotRead() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/db.sqlite"
        let pool = try DatabaseFile.open(path: path)
        try pool.write { try $0.execute(sql: "CREATE TABLE t (x)") }
        #expect(try pool.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        for file in [path, path + "-wal", path + "-shm"] {
            let mode = try #require(FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode & 0o007 == 0, "\(file) has mode \(String(mode, radix: 8))")
        }
    }

    /// An acknowledged write must survive a failing disk or a power loss: the writer syncs every
    /// commit (FULL, 2), though GRDB sets NORMAL when it turns WAL on.
    @Test func theWriterSyncsEveryCommit() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pool = try DatabaseFile.open(path: directory + "/db.sqlite")
        #expect(try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
    }

    @Test func runsEachMigrationOnceInOrder() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/db.sqlite"
        let first = try DatabaseFile.open(path: path)
        #expect(try DatabaseFile.migrate(first, [migrations[0]]) == ["v1-notes"])
        try first.write { try $0.execute(sql: "INSERT INTO note (text) VALUES ('kept')") }

        // A later start with one more migration applies only the new one and keeps the data.
        let second = try DatabaseFile.open(path: path)
        #expect(try DatabaseFile.migrate(second, migrations) == ["v2-note-author"])
        #expect(try DatabaseFile.migrate(second, migrations) == [])
        #expect(try DatabaseFile.appliedMigrations(second) == ["v1-notes", "v2-note-author"])
        #expect(try second.read { try String.fetchOne($0, sql: "SELECT text FROM note") } == "kept")
        #expect(try second.read { try $0.columns(in: "note").map(\.name) } == ["id", "text", "author"])
    }

    @Test func aNewFileHasNoMigrations() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try DatabaseFile.appliedMigrations(DatabaseFile.open(path: directory + "/db.sqlite")) == [])
    }

    @Test func aMissingDirectoryIsAClearError() {
        #expect(throws: DatabaseFileError.self) { try DatabaseFile.open(path: "/nonexistent-dir/db.sqlite") }
    }
}
