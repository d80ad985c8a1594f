import Foundation
import Locking
import Logging
import Postgres
import Storage
import Testing
import TestSupport

/// The libpq wrapper against a real PostgreSQL 15 (TestSupport's `PostgresServer`): values and rows
/// on the wire, transactions, migrations, and what a program sees when the server goes away and
/// comes back. Tests that stop the server use one of their own, so that the shared one stays up
/// for the tests running beside them.
struct PostgresDatabaseTests {
    @Test func valuesComeBackAsTheyWentIn() throws {
        let database = try PostgresDatabase(url: try PostgresServer.shared.createDatabase())
        try database.withConnection { connection in
            try connection.execute("CREATE TABLE sample (id bigint PRIMARY KEY, name text, ok boolean, price double precision, data bytea, at timestamptz)")
            let at = Date(timeIntervalSince1970: 1_764_590_400.123456)
            let name = "ünïcödé 'quoted' \u{202E} and a\nline break"
            try connection.query("INSERT INTO sample VALUES ($1, $2, $3, $4, $5, $6)",
                                 [Int64.max, name, true, 93.42, Data([0, 1, 0xFF, 0x27]), at])
            try connection.query("INSERT INTO sample (id) VALUES ($1)", [Int64(2)])
            let rows = try connection.query("SELECT id, name, ok, price, data, at FROM sample ORDER BY id").rows
            #expect(rows.count == 2)
            #expect(try rows[0].decode(0, as: Int64.self) == 2)
            #expect(try rows[0].decode("name", as: String?.self) == nil)
            #expect(try rows[1].decode(0, as: Int64.self) == Int64.max)
            #expect(try rows[1].decode("name", as: String.self) == name)
            #expect(try rows[1].decode("ok", as: Bool.self))
            #expect(try rows[1].decode("price", as: Double.self) == 93.42)
            #expect(try rows[1].decode("data", as: Data.self) == Data([0, 1, 0xFF, 0x27]))
            #expect(try rows[1].decode("at", as: Date.self) == at.toTheMillisecond, "to the millisecond, as SQLite keeps it")
            #expect(throws: PostgresError.self) { try rows[0].decode("name", as: String.self) }
        }
    }

    /// A date goes in cut to the millisecond, as SQLite keeps it, and comes back equal to that.
    @Test(arguments: [1_764_590_400.123456, 1_764_590_400.999_9, 0.001, -1.5, 946_684_799.999, 946_684_800, 4_102_444_800.5])
    func aDateComesBackToTheMillisecond(_ seconds: Double) throws {
        let database = try PostgresDatabase(url: try PostgresServer.shared.createDatabase())
        let date = Date(timeIntervalSince1970: seconds)
        let stored = try database.withConnection { try $0.query("SELECT $1::timestamptz", [date]).scalar(Date.self) }
        #expect(stored == date.toTheMillisecond, "\(String(describing: stored?.timeIntervalSince1970)) for \(date.toTheMillisecond.timeIntervalSince1970)")
        // And what was already to the millisecond stays as it was.
        let again = try database.withConnection { try $0.query("SELECT $1::timestamptz", [date.toTheMillisecond]).scalar(Date.self) }
        #expect(again == date.toTheMillisecond)
    }

    @Test func aTransactionThatThrowsLeavesNothingAndTheConnectionServesOn() throws {
        let database = try PostgresDatabase(url: try PostgresServer.shared.createDatabase())
        try database.withConnection { try $0.execute("CREATE TABLE note (id bigint PRIMARY KEY)") }
        struct Abandon: Error {}
        #expect(throws: Abandon.self) {
            try database.transaction { connection in
                try connection.query("INSERT INTO note VALUES (1)")
                throw Abandon()
            }
        }
        let duplicate = #expect(throws: PostgresError.self) {
            try database.transaction { connection in
                try connection.query("INSERT INTO note VALUES (2)")
                try connection.query("INSERT INTO note VALUES (2)")
            }
        }
        #expect(duplicate?.isUniqueViolation == true)
        #expect(duplicate.flatMap { StorageFault($0) } == nil, "a constraint is the request's fault, not the storage's")
        try database.transaction { _ = try $0.query("INSERT INTO note VALUES (3)") }
        #expect(try database.withConnection { try $0.query("SELECT array_agg(id)::text FROM note").scalar(String.self) } == "{3}")
    }

    /// Two programs starting at once (a responder and a bot, each migrating) run each step once.
    @Test func twoProgramsMigratingAtOnceRunEachStepOnce() throws {
        let url = try PostgresServer.shared.createDatabase()
        let migrations = (1...5).map { PostgresMigration("v\($0)", sql: "CREATE TABLE t\($0) (x int); INSERT INTO t\($0) VALUES (\($0))") }
        let databases = try (0..<2).map { _ in try PostgresDatabase(url: url) }
        let ran = Locked<[[String]]>([])
        let failures = Locked<[String]>([])
        let finished = databases.map { database in
            let finished = DispatchSemaphore(value: 0)
            Thread {
                do {
                    let applied = try database.migrate(migrations)
                    ran.withLock { $0.append(applied) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
                finished.signal()
            }.start()
            return finished
        }
        for each in finished { #expect(each.wait(timeout: .now() + 60) == .success) }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(ran.withLock { $0.flatMap { $0 } }.sorted() == migrations.map(\.identifier))
        #expect(try databases[0].appliedMigrations() == migrations.map(\.identifier))
        #expect(try databases[1].migrate(migrations).isEmpty)
    }

    /// On a server of its own: while it is down, calls fail as `.unreachable` with nothing of the
    /// socket's path in what a client is told; once it is back, the same pool serves again, and
    /// every committed row is there.
    @Test func thePoolComesBackAfterTheServerRestarts() throws {
        let server = PostgresServer()
        defer { server.remove() }
        let database = try PostgresDatabase(url: try server.createDatabase())
        try database.withConnection { connection in
            try connection.execute("CREATE TABLE note (id bigint PRIMARY KEY)")
            try connection.query("INSERT INTO note VALUES (1)")
        }
        try server.stop()
        let down = #expect(throws: PostgresError.self) {
            try database.withConnection { try $0.query("SELECT count(*) FROM note") }
        }
        let fault = down.flatMap { StorageFault($0) }
        #expect(fault == .unreachable, "\(String(describing: down))")
        #expect(fault.map { !"\($0)".contains(server.directory) } == true)

        try server.start()
        // The pool's idle connection died with the server: the next calls open new ones.
        var count: Int64?
        _ = eventually(timeout: .seconds(10)) {
            count = try? database.withConnection { try $0.query("SELECT count(*) FROM note").scalar(Int64.self) }
            return count != nil
        }
        #expect(count == 1)
        try database.transaction { _ = try $0.query("INSERT INTO note VALUES (2)") }
        try server.restart()
        _ = eventually(timeout: .seconds(10)) {
            count = try? database.withConnection { try $0.query("SELECT count(*) FROM note").scalar(Int64.self) }
            return count != nil
        }
        #expect(count == 2)
    }

    @Test func aWrongURLFailsAtOnceAsUnreachable() throws {
        let url = PostgresServer.shared.url(database: "tradedesk_test_none", user: PostgresServer.owner)
        _ = try PostgresServer.shared.createDatabase()
        let failure = #expect(throws: PostgresError.self) { try PostgresDatabase(url: url) }
        #expect(failure?.kind == .connection)
        #expect(failure.flatMap { StorageFault($0) } == .unreachable)
        #expect(failure?.description.contains("tradedesk_test_none") == true, "the log learns which: \(String(describing: failure))")
    }

    /// A commit on one connection wakes a watch listening on another, and after a restart the watch
    /// listens again by itself (and says it looked away meanwhile).
    @Test func aNotificationWakesTheWatchAndTheWatchOutlivesARestart() throws {
        let server = PostgresServer()
        defer { server.remove() }
        let database = try PostgresDatabase(url: try server.createDatabase())
        let wakes = DispatchSemaphore(value: 0)
        let watch = try PostgresChangeWatch(database: database, channel: "job_added", logger: Logger(label: "test"),
                                            retryInterval: .milliseconds(100)) { wakes.signal() }
        defer { watch.stop() }
        #expect(eventually(timeout: .seconds(10)) { watch.wakesByItself })
        _ = watch.changed()
        while wakes.wait(timeout: .now()) == .success {}

        try database.withConnection { try $0.execute("NOTIFY job_added") }
        #expect(wakes.wait(timeout: .now() + 10) == .success, "the notification woke the waiter")
        #expect(watch.changed())
        #expect(!watch.changed(), "nothing new since")

        try server.restart()
        #expect(eventually(timeout: .seconds(15)) { watch.wakesByItself && (try? database.withConnection { try $0.query("SELECT 1") }) != nil })
        while wakes.wait(timeout: .now()) == .success {}
        _ = watch.changed()
        try database.withConnection { try $0.execute("NOTIFY job_added") }
        #expect(wakes.wait(timeout: .now() + 10) == .success, "listening again after the restart")
        #expect(watch.changed())
    }
}
