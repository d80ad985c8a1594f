import Foundation

/// A fresh database on a test PostgreSQL, migrated by the real `tradedesk migrate` as its owner, and
/// the LOGIN roles the responder and the bot connect as, members of the group roles that migrate
/// creates. The same setup as a production desk (deploy/install.sh) and `deploy/run.sh --postgres`:
/// the owner migrates, the responder and the bot each have a role of their own with the grants only.
///
/// ```swift
/// let database = try PostgresTestDatabase.make()
/// let bot = try ChildProcess(Paths.product("stockbot"), [], environment: ["DATABASE_URL": database.botURL], logPath: ...)
/// try database.run(sql: "SELECT count(*) FROM job")                  // as the owner
/// ```
public struct PostgresTestDatabase: Sendable {
    /// The login role the responder connects as, and the group role `tradedesk migrate` grants to.
    public static let responderRole = (login: "desk_responder", group: "tradedesk_responder")
    /// The login role the bot connects as, and the group role `tradedesk migrate` grants to.
    public static let botRole = (login: "desk_bot", group: "tradedesk_bot")

    public let server: PostgresServer
    /// The database's name, for `PostgresServer.run(sql:database:user:)`.
    public let name: String
    /// The owner's URL: what `tradedesk migrate` ran with.
    public let ownerURL: String
    /// `desk_responder`'s URL, in `tradedesk_responder`: what `tradedesk serve` (and `users`, `tokens`) run with.
    public let responderURL: String
    /// `desk_bot`'s URL, in `tradedesk_bot`: what `stockbot` runs with.
    public let botURL: String

    /// Creates the database on `server`, runs `tradedesk migrate` with the owner's URL, then makes
    /// the login roles (once per cluster; they need the group roles migrate creates). Throws with
    /// migrate's output if it fails.
    public static func make(server: PostgresServer = .shared) throws -> PostgresTestDatabase {
        let ownerURL = try server.createDatabase()
        guard let name = PostgresServer.databaseName(of: ownerURL) else { throw TestFailure("no database in \(ownerURL)") }
        let logs = try TemporaryDirectory("tradedesk-migrate")
        defer { logs.remove() }
        let migrate = try ChildProcess.run(Paths.product("tradedesk"), ["migrate"], environment: ["DATABASE_URL": ownerURL],
                                           logPath: logs.file("migrate.log"), timeout: .seconds(60))
        guard migrate.status == 0 else {
            throw TestFailure("tradedesk migrate on \(name) failed (status \(migrate.status.map(String.init) ?? "none: still running")): \(migrate.output)")
        }
        try server.ensureLoginRole(responderRole.login, in: responderRole.group)
        try server.ensureLoginRole(botRole.login, in: botRole.group)
        return PostgresTestDatabase(server: server, name: name, ownerURL: ownerURL,
                                    responderURL: server.url(database: name, user: responderRole.login),
                                    botURL: server.url(database: name, user: botRole.login))
    }

    /// Drops the database (its roles stay: they are the cluster's).
    public func drop() throws { try server.dropDatabase(ownerURL) }

    /// `PostgresServer.run(sql:database:user:)` in this database; as the owner unless `user` is given.
    @discardableResult
    public func run(sql: String, user: String? = nil) throws -> String {
        try server.run(sql: sql, database: name, user: user)
    }

    /// `PostgresServer.rows(sql:database:user:)` in this database; as the owner unless `user` is given.
    public func rows(sql: String, user: String? = nil) throws -> [[String]] {
        try server.rows(sql: sql, database: name, user: user)
    }
}
