import Foundation
import Testing
import TestSupport

/// `tradedesk users …` and `tradedesk tokens create` against the database a running responder uses.
@Suite(.serialized)
struct AccountCommandTests {
    @Test func operatorsAddListAndDeleteUsersAndCreateTokens() throws {
        let stack = try ResponderStack.tradedesk(environment: ["CREDENTIAL_CACHE_LIFETIME": "0.5"])
        defer { stack.stop() }
        let database = stack.databaseOptions(as: .responder)
        func tradedesk(_ arguments: [String], input: String = "") throws -> (status: Int32?, output: String) {
            try ChildProcess.run(Paths.product("tradedesk"), arguments + database.arguments, input: input,
                                 environment: database.environment, logPath: stack.directory.file("cli-\(UUID().uuidString).log"))
        }

        // The password comes from stdin, never from an argument.
        let added = try tradedesk(["users", "add", "carol"], input: "correct horse battery\n")
        #expect(added.status == 0, "\(added.output)")
        #expect(added.output.contains("added carol"))
        #expect(try stack.login("carol").hasPrefix("tradedesk_session="), "registration is closed, but operators add users")

        let duplicate = try tradedesk(["users", "add", "CAROL"], input: "correct horse battery\n")
        #expect(duplicate.status != 0)
        #expect(duplicate.output.contains("taken"))
        let reserved = try tradedesk(["users", "add", "stockbot"], input: "correct horse battery\n")
        #expect(reserved.output.contains("reserved"))
        let shortPassword = try tradedesk(["users", "add", "dave"], input: "short\n")
        #expect(shortPassword.status != 0)
        #expect(shortPassword.output.contains("password"))

        let created = try tradedesk(["tokens", "create", "carol", "--label", "cron"])
        #expect(created.status == 0)
        let token = created.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(token.hasPrefix("tdk_"))
        let bearer = ["Authorization": "Bearer \(token)"]
        #expect(try stack.request("GET", "/api/session", headers: bearer).status == 200)

        let listed = try tradedesk(["users", "list"])
        #expect(listed.output.contains("carol"))
        #expect(listed.output.contains("1 token(s)"))

        let deleted = try tradedesk(["users", "delete", "carol"])
        #expect(deleted.status == 0)
        // The responder trusts what it read for CREDENTIAL_CACHE_LIFETIME, then sees the deletion.
        #expect(eventually(timeout: .seconds(5)) { (try? stack.request("GET", "/api/session", headers: bearer).status) == 401 })
        let missing = try tradedesk(["users", "delete", "carol"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("no user 'carol'"))
    }

    /// An admin command reads only what it uses: the database's path, and for `tokens create` the
    /// token limit. A bad responder setting in the same environment (one file serves both in
    /// deploy/systemd) stops `serve`, not an operator adding a user.
    @Test func adminCommandsReadOnlyTheSettingsTheyUse() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("db.sqlite")
        func tradedesk(_ arguments: [String], _ environment: [String: String], input: String = "") throws -> (status: Int32?, output: String) {
            try ChildProcess.run(Paths.product("tradedesk"), arguments + ["--database", database], input: input,
                                 environment: environment, logPath: directory.file("cli-\(UUID().uuidString).log"))
        }
        let badServeSettings = ["BATCH_SIZE": "banana", "REGISTRATION": "maybe", "FCGI_LISTEN": "nowhere"]
        let migrated = try tradedesk(["migrate"], badServeSettings)
        #expect(migrated.status == 0, "\(migrated.output)")
        let added = try tradedesk(["users", "add", "erin"], badServeSettings, input: "correct horse battery\n")
        #expect(added.status == 0, "\(added.output)")
        #expect(added.output.contains("added erin"))
        let created = try tradedesk(["tokens", "create", "erin"], badServeSettings)
        #expect(created.status == 0, "\(created.output)")

        // What a command does read is still refused when bad, naming the variable (and the flag).
        let badLimit = try tradedesk(["tokens", "create", "erin"], ["MAX_TOKENS_PER_USER": "many"])
        #expect(badLimit.status == 1, "\(badLimit.output)")
        #expect(badLimit.output.contains("MAX_TOKENS_PER_USER: 'many' is not a whole number from 1 to 10000"), "\(badLimit.output)")
        let badFlag = try tradedesk(["tokens", "create", "erin", "--max-tokens-per-user", "0"], [:])
        #expect(badFlag.output.contains("MAX_TOKENS_PER_USER: '0' is not a whole number from 1 to 10000 (given as --max-tokens-per-user)"),
                "\(badFlag.output)")
        // A flag the command does not read is a usage error, as before.
        let unread = try tradedesk(["users", "list", "--batch-size", "3"], [:])
        #expect(unread.status == 64, "\(unread.output)")
        #expect(unread.output.contains("Unknown option '--batch-size'"), "\(unread.output)")
    }
}
