import Foundation
import Testing
import TestSupport

/// What an attacker tried from outside, through the real nginx in front of `tradedesk`: other
/// spellings of the password paths, bursts of guesses, locking someone else out, more sessions and
/// tokens than anyone needs, cached secrets, and a token used while it is being revoked. Each
/// client address is one of 127.0.0.0/8, so that nginx's per-address limits see separate clients.
@Suite(.serialized)
struct AccountAbuseTests {
    static let open = ["REGISTRATION": "open"]
    static let wrong = "wrong password!"

    /// nginx limits password attempts to a burst of 20 per address (`limit_req`, matched on the
    /// normalised path), and the responder answers only the one spelling of each path, so no other
    /// spelling reaches a password handler more often than that.
    @Test(arguments: ["/api/session/", "/api//session", "/api/./session", "/api/x/../session", "/api/%73ession",
                      "/api/session?x=1", "/api/session%2F", "/api/%2e/session", "/api/Session", "//api/session",
                      "/api/users/", "/api//users", "/api/%75sers", "/api/users?a=b",
                      "/api/tokens/", "/api/./tokens", "/api/%74okens"])
    func everySpellingOfAPasswordPathMeetsTheSameLimit(_ path: String) throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        var statuses: [Int: Int] = [:]
        for attempt in 0..<40 {
            // A new name each time, so that only nginx's per-address limit can stop them.
            let credentials = ["username": "guess\(attempt)", "password": Self.wrong]
            let answer = path.contains("tokens")
                ? try stack.request("POST", path, headers: ["Authorization": basicAuthorization("guess\(attempt)", Self.wrong)],
                                    from: "127.0.0.2")
                : try stack.json("POST", path, credentials, from: "127.0.0.2")
            statuses[answer.status, default: 0] += 1
        }
        let reachedAHandler = statuses.filter { [401, 201].contains($0.key) }.values.reduce(0, +)
        #expect(reachedAHandler <= 21, "\(path): \(statuses)")
        #expect(Set(statuses.keys).isSubset(of: [401, 201, 404, 429]), "\(path): \(statuses)")
    }

    /// Every attempt counts when it starts: 20 guesses sent at once (within nginx's burst) get the
    /// five tries that five guesses one after another get, so a right password among them cannot
    /// slip through while the wrong ones are still being hashed.
    @Test func aBurstOfGuessesGetsNoMoreTriesThanASequence() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        try stack.register("alice")
        let body = Array(try JSONSerialization.data(withJSONObject: ["username": "alice", "password": Self.wrong]))
        let right = Array(try JSONSerialization.data(withJSONObject: ["username": "alice", "password": ResponderStack.testPassword]))
        let connections = try (0..<20).map { index in
            try stack.open("POST", "/api/session", headers: ["Content-Type": "application/json"],
                           body: index == 19 ? right : body, from: "127.0.0.3")
        }
        let statuses = try connections.map { try $0.readResult().status }
        #expect(statuses.filter { $0 == 401 || $0 == 200 }.count == 5, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count == 15, "\(statuses)")
        #expect(!statuses.contains(200) || statuses.filter { $0 == 401 }.count < 5)
    }

    @Test func aFloodFromOneAddressDoesNotLockTheUserOutElsewhere() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        try stack.register("alice")
        var flood: [Int] = []
        for _ in 0..<10 { flood.append(try stack.json("POST", "/api/session", ["username": "alice", "password": Self.wrong], from: "127.0.0.4").status) }
        #expect(flood.prefix(5).allSatisfy { $0 == 401 } && flood.dropFirst(5).allSatisfy { $0 == 429 }, "\(flood)")
        let locked = try stack.json("POST", "/api/session", ["username": "alice", "password": ResponderStack.testPassword], from: "127.0.0.4")
        #expect(locked.status == 429)
        #expect(try (locked.json()["error"] as? String)?.contains("from your address") == true)
        #expect(locked.header("retry-after") != nil)

        let elsewhere = try stack.json("POST", "/api/session", ["username": "alice", "password": ResponderStack.testPassword], from: "127.0.0.5")
        #expect(elsewhere.status == 200, "\(elsewhere)")
    }

    /// Guesses spread over many addresses meet the ceiling across addresses (here 8).
    @Test func guessesFromManyAddressesMeetACeilingForTheUsername() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open.merging(["LOGIN_FAILURES_ACROSS_ADDRESSES": "8"]) { $1 })
        defer { stack.stop() }
        try stack.register("alice")
        for host in 10..<18 {
            let answer = try stack.json("POST", "/api/session", ["username": "alice", "password": Self.wrong], from: "127.0.1.\(host)")
            #expect(answer.status == 401)
        }
        let locked = try stack.json("POST", "/api/session", ["username": "alice", "password": ResponderStack.testPassword], from: "127.0.1.99")
        #expect(locked.status == 429, "\(locked)")
        #expect(try (locked.json()["error"] as? String) == "too many failed logins for this username; retry in 30 s")
    }

    @Test func aUserHoldsBoundedTokensAndSessions() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open.merging(["MAX_TOKENS_PER_USER": "3", "MAX_SESSIONS_PER_USER": "2"]) { $1 })
        defer { stack.stop() }
        try stack.register("alice")
        let tokens = try (0..<3).map { _ in try stack.createToken("alice") }
        let refused = try stack.request("POST", "/api/tokens", headers: ["Authorization": basicAuthorization("alice", ResponderStack.testPassword)])
        #expect(refused.status == 409)
        #expect(try (refused.json()["error"] as? String)?.contains("you hold 3 tokens") == true)
        let listed = try stack.request("GET", "/api/tokens", headers: ["Authorization": "Bearer \(tokens[0])"])
        let first = try #require((try JSONSerialization.jsonObject(with: Data(listed.body)) as? [[String: Any]])?.first?["id"] as? Int)
        #expect(try stack.request("DELETE", "/api/tokens/\(first)", headers: ["Authorization": "Bearer \(tokens[1])"]).status == 204)
        _ = try stack.createToken("alice")

        let sessions = try (0..<3).map { _ in try stack.login("alice") }
        #expect(try stack.request("GET", "/api/session", headers: ["Cookie": sessions[0]]).status == 401, "the oldest session ended")
        for cookie in sessions.dropFirst() {
            #expect(try stack.request("GET", "/api/session", headers: ["Cookie": cookie]).status == 200)
        }
    }

    /// Answers that carry a secret or a user's data must never be stored by a cache on the way.
    @Test func answersWithSecretsAreNeverCached() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open)
        defer { stack.stop() }
        try stack.register("alice")
        let basic = ["Authorization": basicAuthorization("alice", ResponderStack.testPassword)]
        let newToken = try stack.request("POST", "/api/tokens", headers: basic)
        let login = try stack.json("POST", "/api/session", ["username": "alice", "password": ResponderStack.testPassword])
        let token = try #require(try newToken.json()["token"] as? String)
        let bearer = ["Authorization": "Bearer \(token)"]
        let answers = [
            newToken, login,
            try stack.request("GET", "/api/tokens", headers: bearer),
            try stack.request("GET", "/api/session", headers: ["Cookie": try #require(login.sessionCookie)]),
            try stack.request("GET", "/api/orders", headers: bearer),
            try stack.request("GET", "/api/rooms", headers: bearer),
            try stack.request("GET", "/api/rooms", headers: [:]),
            try stack.request("GET", "/api/health"),
            try stack.request("GET", "/api/nothing-here"),
        ]
        for answer in answers { #expect(answer.header("cache-control") == "no-store", "\(answer)") }
    }

    /// Once `DELETE /api/tokens/{id}` has answered, the token is refused, whatever was using it at
    /// that moment. Four clients use the token without pause while it is revoked; every request
    /// sent after the revocation answered must get 401.
    @Test func aRevokedTokenStopsWorkingTheMomentTheRevocationAnswers() throws {
        let stack = try ResponderStack.tradedesk(environment: Self.open.merging(["MAX_TOKENS_PER_USER": "100"]) { $1 })
        defer { stack.stop() }
        try stack.register("alice")
        let owner = try stack.createToken("alice")
        for round in 0..<10 {
            let token = try stack.createToken("alice")
            let id = try #require(Int(token.split(separator: "_")[1]))
            let revokedAt = LockedBox<ContinuousClock.Instant?>(nil)
            let late = LockedBox(0), failures = LockedBox<[String]>([])
            let clients = DispatchGroup()
            // Threads of their own: blocking sockets on Swift's cooperative pool (two threads here)
            // would keep the revocation from being sent at all.
            for _ in 0..<4 {
                DispatchQueue.global().async(group: clients) {
                    for _ in 0..<60 {
                        let sent = ContinuousClock.now
                        do {
                            let status = try stack.request("GET", "/api/orders?limit=1", headers: ["Authorization": "Bearer \(token)"]).status
                            if status == 200, let revoked = revokedAt.value, sent > revoked { late.update { $0 += 1 } }
                        } catch { failures.update { $0.append("\(error)") } }
                    }
                }
            }
            Thread.sleep(forTimeInterval: 0.02 + Double(round) * 0.005)
            let revoked = try stack.request("DELETE", "/api/tokens/\(id)", headers: ["Authorization": "Bearer \(owner)"])
            revokedAt.value = ContinuousClock.now
            #expect(revoked.status == 204)
            clients.wait()
            #expect(failures.value.isEmpty, "\(failures.value)")
            #expect(late.value == 0, "round \(round): \(late.value) requests sent after the revocation answered were let in")
            #expect(try stack.request("GET", "/api/orders", headers: ["Authorization": "Bearer \(token)"]).status == 401)
        }
    }
}

/// A value shared between a test's tasks.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
