import Foundation
import Logging
import Postgres
import TestSupport
import Testing
import TradedeskApp

/// Least privilege on PostgreSQL: `tradedesk migrate` (as the owner) makes the two group roles and
/// their grants; the bot's role reaches the job table alone, and the responder's may use every
/// table's rows but change no table.
struct PostgresRolesTests {
    let server = PostgresServer.shared

    func connect(_ url: String, as user: String) throws -> PostgresConnection {
        try PostgresConnection(url: server.url(database: PostgresServer.databaseName(of: url)!, user: user))
    }

    func refused(_ connection: PostgresConnection, _ sql: String) -> Bool {
        do {
            try connection.execute(sql)
            return false
        } catch let error as PostgresError {
            return error.sqlState == "42501"  // insufficient_privilege
        } catch {
            return false
        }
    }

    @Test func theBotReachesTheJobTableAloneAndTheResponderChangesNoTable() throws {
        let url = try server.createDatabase()
        _ = try SchemaMigration.run(.postgres(url: url), logger: Logger(label: "test"))
        try server.ensureLoginRole("roles_test_bot", in: "tradedesk_bot")
        try server.ensureLoginRole("roles_test_responder", in: "tradedesk_responder")

        let bot = try connect(url, as: "roles_test_bot")
        try bot.execute("SELECT count(*) FROM job")
        try bot.execute("UPDATE job SET attempts = attempts WHERE false")
        for sql in ["SELECT * FROM message", "SELECT * FROM \"user\"", "SELECT * FROM session", "SELECT * FROM trade_order",
                    "INSERT INTO message (room_id, author, text, created_at) VALUES (1, 'stockbot', 'forged', now())",
                    "DELETE FROM job", "SELECT * FROM tradedesk_migrations"] {
            #expect(refused(bot, sql), "the bot may not: \(sql)")
        }

        let responder = try connect(url, as: "roles_test_responder")
        for table in ["\"user\"", "session", "api_token", "batch", "trade_order", "room", "message", "job", "tradedesk_migrations"] {
            try responder.execute("SELECT count(*) FROM \(table)")
        }
        try responder.execute("DELETE FROM session WHERE false")
        for sql in ["DROP TABLE message", "TRUNCATE job", "ALTER TABLE \"user\" ADD COLUMN admin boolean",
                    "CREATE TABLE mine (id bigint)", "DELETE FROM tradedesk_migrations"] {
            #expect(refused(responder, sql), "the responder may not: \(sql)")
        }
    }

    /// A second database on the same server migrates too: the roles are the server's, made once.
    @Test func aSecondDatabaseOnTheServerSharesTheRoles() throws {
        for _ in 0..<2 {
            let (applied, total) = try SchemaMigration.run(.postgres(url: try server.createDatabase()), logger: Logger(label: "test"))
            #expect(applied.count == Schema.postgresMigrations.count && total == applied.count)
        }
    }

    /// `serve` does not migrate on PostgreSQL (its role may not change tables): on a database the
    /// owner has not migrated it answers 503 saying what to run, and serves once the owner has.
    @Test func serveWaitsForTheOwnersMigrationAndSaysWhatToRun() throws {
        let url = try server.createDatabase()
        let stack = try ResponderStack.tradedesk(backend: .sqlite, environment: ["DATABASE_URL": url])
        defer { stack.stop() }
        let waiting = try stack.request("GET", "/api/health")
        let error = try waiting.json()["error"] as? String ?? ""
        #expect(waiting.status == 503 && error.contains("run tradedesk migrate with the owner's DATABASE_URL"), "\(waiting)")
        #expect(!error.contains(server.directory), "no socket path in the answer")
        _ = try SchemaMigration.run(.postgres(url: url), logger: Logger(label: "test"))
        #expect(eventually(timeout: .seconds(20)) { (try? stack.request("GET", "/api/health").status) == 200 })
    }
}
