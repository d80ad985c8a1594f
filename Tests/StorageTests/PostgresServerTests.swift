import Foundation
import Testing
import TestSupport

/// The PostgreSQL the tests start themselves (TestSupport's `PostgresServer`), checked through psql:
/// the other suites trust it to be a real, durable, socket-only server with fresh databases.
struct PostgresServerTests {
    @Test func theSharedServerListensOnlyOnItsSocketAndSyncsCommits() throws {
        let server = PostgresServer.shared
        #expect(try server.run(sql: "SELECT 1") == "1")
        #expect(FileManager.default.fileExists(atPath: server.directory + "/.s.PGSQL.5432"))
        #expect(try server.run(sql: "SHOW listen_addresses") == "")
        #expect(try server.run(sql: "SHOW fsync") == "on")
        #expect(try server.run(sql: "SHOW synchronous_commit") == "on")
        #expect(try server.run(sql: "SHOW server_version").hasPrefix("15."))
        // Not as root: the data directory belongs to the user the server runs as.
        let owner = try #require(FileManager.default.attributesOfItem(atPath: server.dataDirectory)[.ownerAccountID] as? Int)
        if isRoot { #expect(owner == Int(getpwnam("postgres").pointee.pw_uid)) } else { #expect(owner == Int(getuid())) }
        #expect(String(format: "%o", try #require(FileManager.default.attributesOfItem(atPath: server.directory)[.posixPermissions] as? Int)) == "700")
    }

    @Test func eachDatabaseIsNewEmptyAndTheOwners() throws {
        let server = PostgresServer.shared
        let first = try server.createDatabase(), second = try server.createDatabase()
        #expect(first != second)
        let firstName = try #require(PostgresServer.databaseName(of: first))
        let secondName = try #require(PostgresServer.databaseName(of: second))
        #expect(first == server.url(database: firstName, user: PostgresServer.owner))
        #expect(first.hasPrefix("postgresql:///\(firstName)?host=\(server.directory)&user=tradedesk_owner"), "\(first)")

        try server.run(sql: "CREATE TABLE note (id bigint PRIMARY KEY); INSERT INTO note VALUES (1)", database: firstName)
        #expect(try server.run(sql: "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: secondName) == "0")
        #expect(try server.run(sql: "SELECT id FROM note", database: firstName) == "1")
        #expect(try server.run(sql: "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
                               database: secondName) == "tradedesk_owner")
        // The owner is what a DBA makes in production: it may create roles and databases, and is no superuser.
        #expect(try server.run(sql: "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user") == "f|t|t")
        #expect(throws: TestFailure.self) { try server.run(sql: "SELECT id FROM note", database: secondName) }

        try server.dropDatabase(first)
        #expect(try server.run(sql: "SELECT count(*) FROM pg_database WHERE datname IN ('\(firstName)', '\(secondName)')") == "1")
        #expect(throws: TestFailure.self) { try server.run(sql: "SELECT 1", database: firstName) }
    }

    @Test func aLoginRoleInAGroupGetsTheGroupsGrantsOnly() throws {
        let server = PostgresServer.shared
        let url = try server.createDatabase()
        let name = try #require(PostgresServer.databaseName(of: url))
        try server.run(sql: """
            DO $$ BEGIN CREATE ROLE servertest_group NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
            CREATE TABLE open_to_group (x int);
            CREATE TABLE closed (x int);
            GRANT SELECT ON open_to_group TO servertest_group;
            """, database: name)
        try server.ensureLoginRole("servertest_login", in: "servertest_group")
        try server.ensureLoginRole("servertest_login", in: "servertest_group")
        #expect(try server.run(sql: "SELECT count(*) FROM open_to_group", database: name, user: "servertest_login") == "0")
        let refused = #expect(throws: TestFailure.self) {
            try server.run(sql: "SELECT count(*) FROM closed", database: name, user: "servertest_login")
        }
        #expect(refused?.description.contains("permission denied") == true, "\(String(describing: refused))")
    }

    /// On a server of its own: a restart, clean or as after a crash, keeps every committed row;
    /// while stopped, nothing connects.
    @Test func aCommittedRowOutlivesRestartsAndACrash() throws {
        let server = PostgresServer()
        defer { server.remove() }
        let name = try #require(PostgresServer.databaseName(of: try server.createDatabase()))
        try server.run(sql: "CREATE TABLE note (id bigint PRIMARY KEY); INSERT INTO note VALUES (1)", database: name)

        try server.restart()
        #expect(try server.run(sql: "SELECT id FROM note", database: name) == "1")

        try server.run(sql: "INSERT INTO note VALUES (2)", database: name)
        try server.stop(mode: .immediate)
        #expect(throws: TestFailure.self) { try server.run(sql: "SELECT 1") }
        #expect(!FileManager.default.fileExists(atPath: server.directory + "/.s.PGSQL.5432"))
        try server.start()
        #expect(try server.run(sql: "SELECT id FROM note ORDER BY id", database: name) == "1\n2")
        #expect(server.log.contains("database system was interrupted"), "the start after the crash replayed the WAL")
    }

    @Test func removeStopsTheServerAndDeletesItsDirectory() throws {
        let server = PostgresServer()
        try server.start()
        let pidFile = try String(contentsOfFile: server.dataDirectory + "/postmaster.pid", encoding: .utf8)
        let pid = try #require(pidFile.split(separator: "\n").first.flatMap { Int32($0) })
        #expect(Self.isRunning(pid))
        server.remove()
        #expect(!FileManager.default.fileExists(atPath: server.directory))
        #expect(eventually { !Self.isRunning(pid) }, "the postmaster is gone")
        #expect(throws: TestFailure.self) { try server.start() }
    }

    @Test func withoutPostgreSQLTheFailureNamesThePackage() throws {
        let server = PostgresServer(binaries: "/nonexistent/postgresql/bin")
        defer { server.remove() }
        let failure = #expect(throws: TestFailure.self) { try server.createDatabase() }
        #expect(failure?.description.contains("install the Debian package postgresql") == true, "\(String(describing: failure))")
        // The failure is kept: a second call fails the same way, without trying again.
        let again = #expect(throws: TestFailure.self) { try server.start() }
        #expect(again?.description == failure?.description)
    }

    /// Alive, and not a zombie waiting for whoever adopted it to reap it.
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.contains("State:\tZ")
    }
}
