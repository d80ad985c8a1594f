import Foundation
import Testing
import TestSupport

/// `tradedesk users …` and `tradedesk tokens create` against the database a running responder uses.
@Suite(.serialized)
struct AccountCommandTests {
    @Test func operatorsAddListAndDeleteUsersAndCreateTokens() throws {
        let stack = try ResponderStack.tradedesk(environment: ["CREDENTIAL_CACHE_LIFETIME": "0.5"])
        defer { stack.stop() }
        func tradedesk(_ arguments: [String], input: String = "") throws -> (status: Int32?, output: String) {
            try ChildProcess.run(Paths.product("tradedesk"), arguments + ["--database", stack.databasePath], input: input,
                                 logPath: stack.directory.file("cli-\(UUID().uuidString).log"))
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
}
