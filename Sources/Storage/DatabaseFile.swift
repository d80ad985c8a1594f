import Foundation
import GRDB
import Logging

/// The one SQLite file shared by the responder and the bot, opened in WAL mode so that readers
/// never wait for the writer, and either process can write while the other reads.
public enum DatabaseFile {
    /// How long a writer waits for the other process's write lock before `SQLITE_BUSY`.
    public static let busyTimeout: TimeInterval = 5

    /// Opens (creating if needed) the database at `path`. A new file is created mode 0640, so
    /// neither it nor its -wal and -shm files (SQLite gives them the same mode) are world-readable.
    ///
    /// Opening for writing fails at once, naming the cause, when the file or its folder (where
    /// SQLite keeps the -wal and -shm files) cannot be written: a read-only file system, say.
    /// SQLite itself would only say "unable to open database file".
    public static func open(path: String, readonly: Bool = false) throws -> DatabasePool {
        if !readonly {
            try createIfMissing(path: path)
            try requireWritable(path, path: path, which: "the file")
            try requireWritable(URL(fileURLWithPath: path).deletingLastPathComponent().path, path: path, which: "its folder")
        }
        var configuration = Configuration()
        configuration.readonly = readonly
        configuration.busyMode = .callback(waitForTheLock)
        configuration.label = "tradedesk"
        let pool = try DatabasePool(path: path, configuration: configuration)
        if !readonly {
            // FULL: every commit is on the disk before the client hears of it. With NORMAL (which
            // GRDB sets on the writer when it turns WAL on), commits sat in the page cache for up
            // to half a minute, and a disk that failed (ext4 turning itself read-only, in
            // DiskFaultTests) or lost power took acknowledged orders and accounts with it.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        }
        return pool
    }

    /// How a connection waits for the other process's write lock: retrying after 0.1 ms, doubling to
    /// 2 ms, for `busyTimeout` in all. SQLite's own busy timeout sleeps 1, 2, 5, 10, 15, 20, 25 ms…
    /// between tries, so a writer behind a commit that held the lock for a few milliseconds (one
    /// sync) slept on long after it was free; the bot's processes and the responder take turns at
    /// the lock many times a second.
    static let waitForTheLock: Database.BusyCallback = { tries in
        let delay = min(100 << min(tries, 5), 2000)
        // The delays before this try: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 ms, then 2 ms each.
        let waited = tries <= 5 ? (100 << tries) - 100 : 3100 + (tries - 5) * 2000
        guard Double(waited) < busyTimeout * 1_000_000 else { return false }
        usleep(useconds_t(delay))
        return true
    }

    /// Runs the migrations not yet applied to this file, in order; returns the identifiers it ran.
    @discardableResult
    public static func migrate(_ database: DatabasePool, _ migrations: [Migration], logger: Logger? = nil) throws -> [String] {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.identifier, migrate: migration.migrate)
        }
        let alreadyApplied = try database.read { try migrator.appliedIdentifiers($0) }
        let toApply = migrations.map(\.identifier).filter { !alreadyApplied.contains($0) }
        try migrator.migrate(database)
        for identifier in toApply { logger?.notice("applied migration", metadata: ["migration": "\(identifier)"]) }
        return toApply
    }

    /// Identifiers of the migrations applied to this file.
    public static func appliedMigrations(_ database: DatabasePool) throws -> [String] {
        try database.read { db in
            guard try db.tableExists("grdb_migrations") else { return [] }
            return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        }
    }

    private static func createIfMissing(path: String) throws {
        let fd = Foundation.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o640)
        if fd >= 0 { close(fd); return }
        guard errno == EEXIST else {
            throw DatabaseFileError(path: path, cause: "it cannot be created: \(String(cString: strerror(errno)))")
        }
    }

    private static func requireWritable(_ file: String, path: String, which: String) throws {
        guard access(file, W_OK) == 0 else {
            throw DatabaseFileError(path: path, cause: "\(which) is not writable: \(String(cString: strerror(errno)))")
        }
    }
}

public struct DatabaseFileError: Error, CustomStringConvertible {
    public let path: String
    /// What is wrong, without the path, so that clients may be told.
    public let cause: String
    public var description: String { "cannot open the database \(path) for writing: \(cause)" }
}

/// SQLite's `SchemaStatus`: the migrations recorded in the file.
public struct SQLiteSchemaStatus: SchemaStatus {
    let database: DatabasePool

    public init(database: DatabasePool) { self.database = database }

    public func appliedMigrations() throws -> [String] { try DatabaseFile.appliedMigrations(database) }
}
