@testable import Accounts
import Foundation
import HTTP
import Logging
import Storage
import Testing

struct CredentialRulesTests {
    @Test(arguments: ["abc", "Alice_1.x-y", String(repeating: "a", count: 32)])
    func acceptsGoodUsernames(_ name: String) throws {
        try CredentialRules.checkUsername(name)
    }

    @Test(arguments: ["ab", String(repeating: "a", count: 33), "al ice", "al/ice", "élodie", "a\u{0}b", "<script>", "x'; DROP--"])
    func rejectsBadUsernamesNamingTheField(_ name: String) {
        #expect(throws: HTTPError.self) { try CredentialRules.checkUsername(name) }
        #expect((try? CredentialRules.checkUsername(name)) == nil)
        do { try CredentialRules.checkUsername(name) } catch { #expect(error.message.contains("'username'")) }
    }

    @Test func passwordsAre8To256Characters() throws {
        try CredentialRules.checkPassword("12345678")
        try CredentialRules.checkPassword(String(repeating: "é", count: 256))
        #expect(throws: HTTPError(400, "field 'password' must be 8 to 256 characters")) { try CredentialRules.checkPassword("1234567") }
        #expect(throws: HTTPError.self) { try CredentialRules.checkPassword(String(repeating: "a", count: 257)) }
    }

    @Test func stockbotIsReservedInAnyCase() {
        #expect(CredentialRules.isReserved("stockbot"))
        #expect(CredentialRules.isReserved("StockBot"))
        #expect(!CredentialRules.isReserved("stockbot2"))
    }
}

struct SecretTokenTests {
    @Test func roundTripsAsAPITokenAndCookie() throws {
        let token = SecretToken(id: 42, secret: SecretToken.newSecret())
        #expect(token.apiToken.hasPrefix("tdk_42_"))
        #expect(SecretToken(apiToken: token.apiToken) == token)
        #expect(SecretToken(sessionCookie: token.sessionCookie) == token)
        #expect(token.matches(token.secretHash))
        #expect(!token.matches(SecretToken(id: 42, secret: SecretToken.newSecret()).secretHash))
    }

    @Test(arguments: ["", "tdk_", "tdk_1_", "tdk_x_abc", "tdk_0_" + String(repeating: "A", count: 43),
                      "tdk_-1_" + String(repeating: "A", count: 43), "tdk_1_" + String(repeating: "A", count: 42),
                      "tdk_1_" + String(repeating: "+", count: 43), "abc_1_" + String(repeating: "A", count: 43)])
    func rejectsMalformedTokens(_ text: String) {
        #expect(SecretToken(apiToken: text) == nil)
    }

    @Test func base64URLMatchesFoundationsBase64WithoutPadding() {
        for length in 0...40 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected)
            #expect(Base64URL.decode(Substring(expected)) == bytes)
        }
        // A lone trailing character, bits left over, and characters outside the alphabet.
        for text in ["A", "AB", "AAAAA", "QR", "ab+c", "ab/c", "ab=c", "ab c", "é"] {
            #expect(Base64URL.decode(Substring(text)) == nil, "\(text)")
        }
    }

    @Test func secretsAreRandom() {
        #expect(SecretToken.newSecret() != SecretToken.newSecret())
        #expect(SecretToken.newSecret().count == 32)
    }
}

struct LoginThrottleTests {
    @Test func locksAfterFreeFailuresAndDoublesUpToTheLongest() {
        var policy = LoginThrottle.Policy()
        policy.freeFailures = 3
        policy.firstLock = .seconds(10)
        policy.longestLock = .seconds(35)
        let throttle = LoginThrottle(policy: policy)
        let start = ContinuousClock.now
        for _ in 0..<2 { throttle.recordFailure(for: "Alice", now: start) }
        #expect(throttle.wait(for: "alice", now: start) == nil)
        throttle.recordFailure(for: "ALICE", now: start)
        #expect(throttle.wait(for: "alice", now: start) == .seconds(10))
        throttle.recordFailure(for: "alice", now: start)
        #expect(throttle.wait(for: "alice", now: start) == .seconds(20))
        throttle.recordFailure(for: "alice", now: start)
        #expect(throttle.wait(for: "alice", now: start) == .seconds(35))
        #expect(throttle.wait(for: "alice", now: start + .seconds(36)) == nil)
        #expect(throttle.wait(for: "bob", now: start) == nil)
        throttle.recordSuccess(for: "alice")
        #expect(throttle.wait(for: "alice", now: start) == nil)
    }

    @Test func oldFailuresAreForgotten() {
        var policy = LoginThrottle.Policy()
        policy.freeFailures = 2
        policy.memory = .seconds(60)
        let throttle = LoginThrottle(policy: policy)
        let start = ContinuousClock.now
        throttle.recordFailure(for: "alice", now: start)
        throttle.recordFailure(for: "alice", now: start + .seconds(120))
        #expect(throttle.wait(for: "alice", now: start + .seconds(120)) == nil)
    }
}

struct PasswordHasherTests {
    @Test func hashesWithArgon2idAndVerifies() {
        let hash = PasswordHasher.hash("correct horse battery")
        #expect(hash.hasPrefix("$argon2id$v=19$m=65536,t=2,p=1$"))
        #expect(!hash.contains("correct horse"))
        #expect(PasswordHasher.verify("correct horse battery", against: hash))
        #expect(!PasswordHasher.verify("correct horse batterY", against: hash))
        #expect(PasswordHasher.hash("correct horse battery") != hash, "each hash has its own salt")
    }

    @Test func passwordsWithNULAreHashedWhole() {
        let hash = PasswordHasher.hash("abcdefgh\u{0}ijkl")
        #expect(PasswordHasher.verify("abcdefgh\u{0}ijkl", against: hash))
        #expect(!PasswordHasher.verify("abcdefgh", against: hash))
    }
}

struct SessionCookieTests {
    @Test func theCookieIsHttpOnlyStrictAndSecureOnlyOverHTTPS() throws {
        let directory = NSTemporaryDirectory() + "cookie-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try DatabaseFile.open(path: directory + "/db.sqlite")
        try DatabaseFile.migrate(database, AccountsSchema.migrations)
        let service = AccountService(database: database, configuration: AccountsConfiguration(), logger: Logger(label: "test"))
        let user = try service.store.createUser(username: "alice", passwordHash: "x")
        let overHTTPS = try service.startSession(userID: user.id!, secure: true)
        let overHTTP = try service.startSession(userID: user.id!, secure: false)
        for cookie in [overHTTPS, overHTTP] {
            #expect(cookie.hasPrefix("tradedesk_session="))
            #expect(cookie.contains("; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800"))
        }
        #expect(overHTTPS.hasSuffix("; Secure"))
        #expect(!overHTTP.contains("Secure"))
    }
}

struct CrossSiteCheckTests {
    private func request(_ headers: [String: String]) throws -> HTTPRequest {
        // Debian's fastcgi_params passes the host without its port.
        var params = ["REQUEST_METHOD": "POST", "REQUEST_URI": "/api/tokens", "HTTP_HOST": "desk.example"]
        for (name, value) in headers { params["HTTP_" + name.uppercased().replacingOccurrences(of: "-", with: "_")] = value }
        return try HTTPRequest(params: params)
    }

    @Test func allowsSameOriginAndNonBrowserRequests() throws {
        try CrossSiteCheck.reject(request([:]))
        try CrossSiteCheck.reject(request(["Origin": "http://desk.example:8080", "Sec-Fetch-Site": "same-origin"]))
        try CrossSiteCheck.reject(request(["Origin": "https://DESK.example"]))
    }

    @Test func hostNamesDropPortsAndKeepIPv6Brackets() {
        #expect(CrossSiteCheck.hostName("Example.com:8080") == "example.com")
        #expect(CrossSiteCheck.hostName("[::1]:8080") == "[::1]")
        #expect(CrossSiteCheck.hostName("127.0.0.1") == "127.0.0.1")
    }

    @Test(arguments: [["Origin": "http://evil.example"], ["Sec-Fetch-Site": "cross-site"], ["Sec-Fetch-Site": "same-site"],
                      ["Origin": "http://desk.example.evil.example"], ["Origin": "http://evil.example/desk.example"], ["Origin": "null"]])
    func refusesOtherSites(_ headers: [String: String]) throws {
        let request = try request(headers)
        #expect(throws: HTTPError.self) { try CrossSiteCheck.reject(request) }
    }
}
