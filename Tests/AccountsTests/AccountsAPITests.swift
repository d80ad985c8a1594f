import Foundation
import Testing
import TestSupport

/// Registration, login, sessions and tokens through the real nginx in front of `tradedesk`.
@Suite(.serialized)
struct AccountsAPITests {
    static let open = ["REGISTRATION": "open"]

    @Test func registersAndRefusesTakenReservedAndBadNames() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        let created = try stack.json("POST", "/api/users", ["username": "Alice", "password": "correct horse battery"])
        #expect(created.status == 201)
        #expect(try created.json() as NSDictionary == ["username": "Alice"])

        let sameNameOtherCase = try stack.json("POST", "/api/users", ["username": "aLICE", "password": "another password"])
        #expect(sameNameOtherCase.status == 409)
        #expect(try sameNameOtherCase.json()["error"] as? String == "username 'aLICE' is taken")

        let reserved = try stack.json("POST", "/api/users", ["username": "StockBot", "password": "correct horse battery"])
        #expect(reserved.status == 409)
        #expect(try (reserved.json()["error"] as? String)?.contains("reserved") == true)

        for (body, field) in [
            (["username": "al", "password": "correct horse battery"], "username"),
            (["username": String(repeating: "a", count: 10_000), "password": "correct horse battery"], "username"),
            (["username": "bob'; DROP TABLE user;--", "password": "correct horse battery"], "username"),
            (["username": "bob", "password": "short"], "password"),
            (["password": "correct horse battery"], "username"),
            (["username": "bob"], "password"),
        ] as [([String: String], String)] {
            let answer = try stack.json("POST", "/api/users", body)
            #expect(answer.status == 400, "\(body)")
            #expect(try (answer.json()["error"] as? String)?.contains("'\(field)'") == true, "\(answer)")
        }
        let notJSON = try stack.request("POST", "/api/users", body: Array("username=bob".utf8))
        #expect(notJSON.status == 415)
    }

    @Test func registrationCanBeClosed() throws {
        let stack = try ResponderStack.tradedesk(environment: ["REGISTRATION": "closed"])
        defer { stack.stop() }
        let refused = try stack.json("POST", "/api/users", ["username": "alice", "password": "correct horse battery"])
        #expect(refused.status == 403)
        #expect(try (refused.json()["error"] as? String)?.contains("registration is closed") == true)
    }

    @Test func logsInChecksTheSessionAndLogsOut() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        try stack.register("alice")

        let login = try stack.json("POST", "/api/session", ["username": "ALICE", "password": ResponderStack.testPassword])
        #expect(login.status == 200)
        #expect(try login.json()["username"] as? String == "alice")
        let setCookie = try #require(login.header("set-cookie"))
        #expect(setCookie.hasPrefix("tradedesk_session="))
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] { #expect(setCookie.contains(attribute)) }
        #expect(!setCookie.contains("Secure"), "plain HTTP gets no Secure flag")
        let cookie = try #require(login.sessionCookie)

        let whoami = try stack.request("GET", "/api/session", headers: ["Cookie": cookie])
        #expect(whoami.status == 200)
        #expect(try whoami.json()["username"] as? String == "alice")

        let anonymous = try stack.request("GET", "/api/session")
        #expect(anonymous.status == 401)
        #expect(anonymous.header("www-authenticate")?.hasPrefix("Bearer") == true)
        #expect(try anonymous.json()["error"] != nil)

        let logout = try stack.request("DELETE", "/api/session", headers: ["Cookie": cookie])
        #expect(logout.status == 204)
        #expect(logout.header("set-cookie")?.contains("Max-Age=0") == true)
        let afterLogout = try stack.request("GET", "/api/session", headers: ["Cookie": cookie])
        #expect(afterLogout.status == 401, "the session is revoked on the server, not only in the browser")
    }

    @Test func wrongPasswordAndUnknownUserGetTheSameAnswer() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        try stack.register("alice")
        let wrongPassword = try stack.json("POST", "/api/session", ["username": "alice", "password": "wrong password!"])
        let unknownUser = try stack.json("POST", "/api/session", ["username": "nobody", "password": "wrong password!"])
        #expect(wrongPassword.status == 401)
        #expect(unknownUser.status == 401)
        #expect(wrongPassword.text == unknownUser.text)
        #expect(wrongPassword.sessionCookie == nil)
    }

    @Test func tokensByPasswordOrSessionWorkUntilRevoked() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        try stack.register("alice")
        try stack.register("bob")

        // curl -u alice:... -X POST /api/tokens
        let byPassword = try stack.request("POST", "/api/tokens", headers: ["Authorization": basicAuthorization("alice", ResponderStack.testPassword)])
        #expect(byPassword.status == 201)
        let created = try byPassword.json()
        let token = try #require(created["token"] as? String)
        #expect(token.hasPrefix("tdk_"))
        #expect(created["name"] as? String == "api token")
        #expect((created["created_at"] as? String)?.hasSuffix("Z") == true)

        let badPassword = try stack.request("POST", "/api/tokens", headers: ["Authorization": basicAuthorization("alice", "not the password")])
        #expect(badPassword.status == 401)

        let cookie = try stack.login("alice")
        let bySession = try stack.json("POST", "/api/tokens", ["name": "laptop script"], headers: ["Cookie": cookie])
        #expect(bySession.status == 201)
        #expect(try bySession.json()["name"] as? String == "laptop script")

        // A token cannot mint more tokens.
        let byToken = try stack.request("POST", "/api/tokens", headers: ["Authorization": "Bearer \(token)"])
        #expect(byToken.status == 401)

        let bearer = ["Authorization": "Bearer \(token)"]
        #expect(try stack.request("GET", "/api/session", headers: bearer).json()["username"] as? String == "alice")

        let list = try stack.request("GET", "/api/tokens", headers: bearer)
        #expect(list.status == 200)
        let tokens = try #require(try JSONSerialization.jsonObject(with: Data(list.body)) as? [[String: Any]])
        #expect(tokens.map { $0["name"] as? String } == ["api token", "laptop script"])
        #expect(tokens.allSatisfy { $0["token"] == nil }, "secrets are shown once, never listed")
        let id = try #require(created["id"] as? Int)

        // Bob cannot see or revoke Alice's token.
        let bobToken = try stack.createToken("bob")
        #expect(try stack.request("DELETE", "/api/tokens/\(id)", headers: ["Authorization": "Bearer \(bobToken)"]).status == 404)
        #expect(try stack.request("DELETE", "/api/tokens/nonsense", headers: bearer).status == 404)

        #expect(try stack.request("DELETE", "/api/tokens/\(id)", headers: bearer).status == 204)
        let revoked = try stack.request("GET", "/api/session", headers: bearer)
        #expect(revoked.status == 401)
        #expect(revoked.header("www-authenticate")?.contains("invalid_token") == true)

        for forged in ["Bearer tdk_1_" + String(repeating: "A", count: 43), "Bearer nonsense", "Bearer "] {
            #expect(try stack.request("GET", "/api/session", headers: ["Authorization": forged]).status == 401)
        }
    }

    @Test func aSessionCookieCannotBeUsedFromAnotherSite() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        try stack.register("alice")
        let cookie = try stack.login("alice")
        let fromEvil = try stack.request("POST", "/api/tokens", headers: ["Cookie": cookie, "Origin": "http://evil.example"])
        #expect(fromEvil.status == 403)
        #expect(try (fromEvil.json()["error"] as? String)?.contains("cross-site") == true)
        let crossSiteFetch = try stack.request("POST", "/api/tokens", headers: ["Cookie": cookie, "Sec-Fetch-Site": "cross-site"])
        #expect(crossSiteFetch.status == 403)
        let sameSite = try stack.request("POST", "/api/tokens", headers: [
            "Cookie": cookie, "Origin": "http://127.0.0.1:\(stack.port)", "Sec-Fetch-Site": "same-origin",
        ])
        #expect(sameSite.status == 201, "\(sameSite)")
        // Logging someone in from another site is refused too.
        let loginFromEvil = try stack.json("POST", "/api/session", ["username": "alice", "password": ResponderStack.testPassword],
                                           headers: ["Origin": "http://evil.example"])
        #expect(loginFromEvil.status == 403)
    }

    @Test func repeatedFailuresLockTheUsernameWith429() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        try stack.register("alice")
        for _ in 0..<5 {
            #expect(try stack.json("POST", "/api/session", ["username": "alice", "password": "wrong password!"]).status == 401)
        }
        // Locked now: even the right password waits, and no hash is spent on it.
        let locked = try stack.json("POST", "/api/session", ["username": "alice", "password": ResponderStack.testPassword])
        #expect(locked.status == 429)
        let retryAfter = try #require(locked.header("retry-after").flatMap(Int.init))
        #expect((1...30).contains(retryAfter))
        #expect(try (locked.json()["error"] as? String)?.contains("too many failed logins") == true)
        // Other users are not affected.
        try stack.register("bob")
        #expect(try stack.login("bob").hasPrefix("tradedesk_session="))
    }

    @Test func nginxLimitsPasswordAttemptsPerAddress() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        var statuses: [Int] = []
        var limited: HTTPResult?
        for index in 0..<26 {
            let answer = try stack.json("POST", "/api/session", ["username": "user\(index)", "password": "wrong password!"])
            statuses.append(answer.status)
            if answer.status == 429 { limited = answer }
        }
        #expect(statuses.filter { $0 == 401 }.count >= 20, "a burst of tries passes: \(statuses)")
        let answer = try #require(limited, "no 429 in \(statuses)")
        #expect(answer.header("retry-after") == "6")
        #expect(try answer.json()["error"] as? String == "too many requests; retry later")
        // Reading who is logged in is never throttled.
        #expect(try stack.request("GET", "/api/session").status == 401)
    }

    @Test func sessionsEndWhenIdle() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open.merging(["SESSION_IDLE_TIMEOUT": "1"]) { $1 })
        defer { stack.stop() }
        try stack.register("alice")
        let cookie = try stack.login("alice")
        #expect(try stack.request("GET", "/api/session", headers: ["Cookie": cookie]).status == 200)
        sleep(2)
        let idle = try stack.request("GET", "/api/session", headers: ["Cookie": cookie])
        #expect(idle.status == 401)
        #expect(try idle.json()["error"] as? String == "your session has ended; log in again")
    }

    @Test func sessionsEndAtTheirMaximumAge() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open.merging(["SESSION_MAX_AGE": "2"]) { $1 })
        defer { stack.stop() }
        try stack.register("alice")
        let cookie = try stack.login("alice")
        #expect(try stack.request("GET", "/api/session", headers: ["Cookie": cookie]).status == 200)
        // Used all along, it still ends.
        _ = eventually(timeout: .seconds(4)) { (try? stack.request("GET", "/api/session", headers: ["Cookie": cookie]).status) == 401 }
        #expect(try stack.request("GET", "/api/session", headers: ["Cookie": cookie]).status == 401)
    }

    @Test func theDatabaseHoldsNoPasswordOrSecret() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        let password = "Tr0ub4dor&3-unique-marker"
        try stack.register("alice", password: password)
        let cookie = try stack.login("alice", password: password)
        let token = try stack.createToken("alice", password: password)
        // tdk_<id>_<secret>: base64url has `_` of its own, so split only at the first two.
        let tokenSecret = String(token.split(separator: "_", maxSplits: 2).last!)
        let cookieSecret = String(cookie.split(separator: ".").last!)

        let bytes = try stack.storedData()
        #expect(bytes.count > 0)
        for secret in [password, tokenSecret, cookieSecret, token] {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "found \(secret) in the database")
            let hex = secret.utf8.map { String(format: "%02x", $0) }.joined()
            #expect(bytes.range(of: Data(hex.utf8)) == nil, "found \(secret) in the database, in hex")
        }
        #expect(bytes.range(of: Data("$argon2id$".utf8)) != nil, "the password is stored as an argon2id hash")
    }
}
