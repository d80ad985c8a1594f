@testable import Accounts
import Foundation
import Logging
import Testing

struct CredentialRulesTests {
    @Test(arguments: ["abc", "Alice_1.x-y", String(repeating: "a", count: 32)])
    func acceptsGoodUsernames(_ name: String) throws {
        try CredentialRules.checkUsername(name)
    }

    @Test(arguments: ["ab", String(repeating: "a", count: 33), "al ice", "al/ice", "élodie", "a\u{0}b", "<script>", "x'; DROP--"])
    func rejectsBadUsernamesNamingTheField(_ name: String) {
        #expect(throws: CredentialRules.Violation.username) { try CredentialRules.checkUsername(name) }
        #expect((try? CredentialRules.checkUsername(name)) == nil)
        do { try CredentialRules.checkUsername(name) } catch { #expect(error.description.contains("'username'")) }
    }

    @Test func passwordsAre8To256Characters() throws {
        try CredentialRules.checkPassword("12345678")
        try CredentialRules.checkPassword(String(repeating: "é", count: 256))
        #expect(throws: CredentialRules.Violation.password) { try CredentialRules.checkPassword("1234567") }
        #expect(throws: CredentialRules.Violation.password) { try CredentialRules.checkPassword(String(repeating: "a", count: 257)) }
        #expect(CredentialRules.Violation.password.description == "'password' must be 8 to 256 characters")
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
    private func refusal(_ throttle: LoginThrottle, _ name: String, _ address: String?,
                         at now: ContinuousClock.Instant) -> LoginThrottle.Refusal? {
        do { try throttle.begin(username: name, address: address, now: now); return nil } catch { return error }
    }

    @Test func locksAfterFreeFailuresAndDoublesUpToTheLongest() {
        var policy = LoginThrottle.Policy()
        policy.freeFailures = 3
        policy.firstLock = .seconds(10)
        policy.longestLock = .seconds(35)
        let throttle = LoginThrottle(policy: policy)
        let start = ContinuousClock.now
        for name in ["Alice", "alice", "ALICE"] { #expect(refusal(throttle, name, "192.0.2.1", at: start) == nil) }
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start)?.wait == .seconds(10))
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start + .seconds(10)) == nil)
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start + .seconds(10))?.wait == .seconds(20))
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start + .seconds(30)) == nil)
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start + .seconds(30))?.wait == .seconds(35))
        #expect(refusal(throttle, "bob", "192.0.2.1", at: start) == nil)
        throttle.succeeded(username: "alice", address: "192.0.2.1")
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start + .seconds(30)) == nil)
    }

    /// Attempts count when they start: as many begun at once as one after another, whatever the
    /// password checks that follow.
    @Test func aBurstGetsAsManyTriesAsASequence() async {
        let throttle = LoginThrottle()
        let start = ContinuousClock.now
        let allowed = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<66 { group.addTask { self.refusal(throttle, "alice", "192.0.2.1", at: start) == nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(allowed == throttle.policy.freeFailures)
    }

    @Test func aFloodFromOneAddressLeavesOtherAddressesAlone() {
        let throttle = LoginThrottle()
        let start = ContinuousClock.now
        for _ in 0..<50 { _ = refusal(throttle, "alice", "198.51.100.7", at: start) }
        #expect(refusal(throttle, "alice", "198.51.100.7", at: start)?.everywhere == false)
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start) == nil)
    }

    @Test func guessesFromManyAddressesMeetTheCeilingAcrossAddresses() {
        var policy = LoginThrottle.Policy()
        policy.freeFailuresAcrossAddresses = 20
        let throttle = LoginThrottle(policy: policy)
        let start = ContinuousClock.now
        for host in 0..<20 { #expect(refusal(throttle, "alice", "203.0.113.\(host)", at: start) == nil) }
        #expect(refusal(throttle, "alice", "203.0.113.200", at: start)?.everywhere == true)
    }

    @Test func ipv6AddressesCountByTheirSlash64() {
        #expect(LoginThrottle.clientKey("2001:db8:0:1::5") == LoginThrottle.clientKey("2001:0db8:0000:0001:ffff::1"))
        #expect(LoginThrottle.clientKey("2001:db8:0:1::5") != LoginThrottle.clientKey("2001:db8:0:2::5"))
        #expect(LoginThrottle.clientKey("192.0.2.1") == "192.0.2.1")
    }

    @Test func anAttemptNeverJudgedDoesNotCount() {
        var policy = LoginThrottle.Policy()
        policy.freeFailures = 1
        let throttle = LoginThrottle(policy: policy)
        let start = ContinuousClock.now
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start) == nil)
        throttle.withdraw(username: "alice", address: "192.0.2.1")
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start) == nil)
    }

    @Test func oldFailuresAreForgotten() {
        var policy = LoginThrottle.Policy()
        policy.freeFailures = 2
        policy.memory = .seconds(60)
        let throttle = LoginThrottle(policy: policy)
        let start = ContinuousClock.now
        _ = refusal(throttle, "alice", "192.0.2.1", at: start)
        _ = refusal(throttle, "alice", "192.0.2.1", at: start + .seconds(120))
        #expect(refusal(throttle, "alice", "192.0.2.1", at: start + .seconds(120)) == nil)
    }

    @Test func aMillionNamesAndAddressesKeepBoundedTables() {
        var policy = LoginThrottle.Policy()
        policy.maxRecords = 10_000
        let throttle = LoginThrottle(policy: policy)
        let start = ContinuousClock.now
        for index in 0..<1_000_000 { _ = refusal(throttle, "user\(index % 200_000)", "10.\(index % 250).0.1", at: start) }
        let counts = throttle.recordCount
        #expect(counts.pairs <= 10_000 && counts.usernames <= 10_000)
    }
}

struct CredentialCacheTests {
    private let credential = StoredCredential(userID: 1, username: "alice", secretHash: [1], expiresAt: nil, lastUsedAt: nil)

    /// A load that read the row just before a revocation committed must not put it back after the
    /// revocation evicted it: the next lookup reads the database again.
    @Test func aRevocationDuringALoadIsNotUndoneByIt() async throws {
        let cache = CredentialCache(lifetime: .seconds(60), capacity: 100)
        let loading = DispatchSemaphore(value: 0), revoked = DispatchSemaphore(value: 0)
        let credential = credential
        let thread = Thread {
            _ = cache.credential(.token(7)) {
                loading.signal()
                revoked.wait()
                return credential
            }
        }
        thread.start()
        loading.wait()
        cache.evict(.token(7))
        revoked.signal()
        while !thread.isFinished { try await Task.sleep(for: .milliseconds(5)) }
        var reads = 0
        _ = cache.credential(.token(7)) { reads += 1; return nil }
        #expect(reads == 1, "the revoked credential came from memory")
    }

    @Test func holdsAtMostItsCapacity() {
        let cache = CredentialCache(lifetime: .seconds(60), capacity: 1000)
        for id in 0..<Int64(1_000_000) { _ = cache.credential(.token(id)) { credential } }
        #expect(cache.count <= 1000)
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
