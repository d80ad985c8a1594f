@testable import Accounts
import Foundation
import Storage
import Testing
import TestSupport

/// The accounts store's own rules, through its protocol, on every backend.
struct AccountStoreTests {
    @Test(arguments: TestBackend.all)
    func usernamesAreUniqueInAnyLetterCase(_ backend: TestBackend) throws {
        let directory = try TemporaryDirectory("accounts")
        defer { directory.remove() }
        let store = try makeAccountStore(backend, in: directory.path)
        let alice = try store.createUser(username: "Alice", passwordHash: "x")
        #expect(throws: AccountStoreError.usernameTaken) { try store.createUser(username: "aLICE", passwordHash: "y") }
        #expect(try store.user(named: "alice")?.id == alice.id)
        #expect(try store.usersWithTokenCounts().map(\.user.username) == ["Alice"])
        // Only ASCII letters fold, whatever the database's locale: the Kelvin sign is no "k".
        let kim = try store.createUser(username: "kim", passwordHash: "x")
        #expect(try store.user(named: "\u{212A}im") == nil)
        #expect(try store.user(named: "KIM")?.id == kim.id)
    }

    @Test(arguments: TestBackend.all)
    func aSessionEndsTheOldestBeyondTheLimitAndExpiredOnes(_ backend: TestBackend) throws {
        let directory = try TemporaryDirectory("accounts")
        defer { directory.remove() }
        let store = try makeAccountStore(backend, in: directory.path)
        let user = try store.createUser(username: "alice", passwordHash: "x").id!
        let now = Date.nowToTheMillisecond
        let expired = try store.createSession(userID: user, secretHash: [0], now: now.addingTimeInterval(-100), maxAge: .seconds(10), keep: 3).id
        let first = try store.createSession(userID: user, secretHash: [1], now: now, maxAge: .seconds(60), keep: 3)
        #expect(first.ended.isEmpty)
        #expect(try store.sessionCredential(id: expired) == nil, "forgotten at the next login")
        let second = try store.createSession(userID: user, secretHash: [2], now: now, maxAge: .seconds(60), keep: 1)
        #expect(second.ended == [first.id])
        let credential = try #require(try store.sessionCredential(id: second.id))
        #expect(credential.username == "alice" && credential.secretHash == [2])
        #expect(same(credential.expiresAt, now.addingTimeInterval(60)) && same(credential.lastUsedAt, now))
        try store.touchSession(id: second.id, at: now.addingTimeInterval(5))
        #expect(same(try store.sessionCredential(id: second.id)?.lastUsedAt, now.addingTimeInterval(5)))
        try store.deleteSession(id: second.id)
        #expect(try store.sessionCredential(id: second.id) == nil)
        // Several ended at once: newest first.
        let more = try (0..<3).map { _ in try store.createSession(userID: user, secretHash: [3], now: now, maxAge: .seconds(60), keep: 5).id }
        let last = try store.createSession(userID: user, secretHash: [4], now: now, maxAge: .seconds(60), keep: 1)
        #expect(last.ended == more.reversed())
    }

    @Test(arguments: TestBackend.all)
    func tokensAreLimitedPerUserAndGoWithTheirUser(_ backend: TestBackend) throws {
        let directory = try TemporaryDirectory("accounts")
        defer { directory.remove() }
        let store = try makeAccountStore(backend, in: directory.path)
        let alice = try store.createUser(username: "alice", passwordHash: "x").id!
        let bob = try store.createUser(username: "bob", passwordHash: "x").id!
        let (token, secret) = try store.createToken(userID: alice, name: "ci", limit: 2)
        #expect(SecretToken(apiToken: secret)?.matches(try #require(try store.tokenCredential(id: token.id!)).secretHash) == true)
        let credential = try #require(try store.tokenCredential(id: token.id!))
        #expect(credential.username == "alice" && credential.expiresAt == nil && credential.lastUsedAt == nil)
        _ = try store.createToken(userID: alice, name: "laptop", limit: 2)
        #expect(throws: AccountStoreError.tooManyTokens(limit: 2)) { try store.createToken(userID: alice, name: "third", limit: 2) }
        #expect(try store.tokens(userID: alice).map(\.name) == ["ci", "laptop"])
        let used = Date.nowToTheMillisecond
        try store.touchToken(id: token.id!, at: used)
        #expect(same(try store.tokens(userID: alice).first?.lastUsedAt, used))
        #expect(same(try store.tokenCredential(id: token.id!)?.lastUsedAt, used))
        #expect(try !store.deleteToken(id: token.id!, userID: bob), "only its owner deletes it")
        #expect(try store.deleteToken(id: token.id!, userID: alice))
        #expect(try store.tokenCredential(id: token.id!) == nil)
        let session = try store.createSession(userID: alice, secretHash: [1], now: Date(), maxAge: .seconds(60), keep: 5).id
        #expect(try store.usersWithTokenCounts().map(\.tokens) == [1, 0])
        #expect(try store.deleteUser(named: "ALICE"))
        #expect(try !store.deleteUser(named: "alice"))
        #expect(try store.tokens(userID: alice).isEmpty)
        #expect(try store.sessionCredential(id: session) == nil)
        #expect(try store.user(named: "bob")?.id == bob)
    }

    /// What only a backend with several writers at once can get wrong (SQLite takes one writer at
    /// a time): calls that check, then write, racing on separate connections. Names in different
    /// letter cases are created at once, and so are tokens and sessions for one user, several
    /// rounds of each.
    @Test(arguments: TestBackend.all)
    func concurrentCallsKeepUniquenessAndLimits(_ backend: TestBackend) async throws {
        let directory = try TemporaryDirectory("accounts")
        defer { directory.remove() }
        let store = try makeAccountStore(backend, in: directory.path)
        let callers = 6
        for round in 0..<5 {
            let name = "racer\(round)"
            let created = await atOnce(callers) { index in
                Result { try store.createUser(username: index % 2 == 0 ? name.uppercased() : name, passwordHash: "x") }
            }
            #expect(created.filter { (try? $0.get()) != nil }.count == 1, "exactly one wins \(name)")
            #expect(created.filter { $0.failure as? AccountStoreError == .usernameTaken }.count == callers - 1,
                    "the others are told the name is taken: \(created)")

            let user = try #require(try store.user(named: name)?.id)
            let limit = 2
            let tokens = await atOnce(callers) { index in
                Result { try store.createToken(userID: user, name: "t\(index)", limit: limit).token }
            }
            #expect(tokens.filter { (try? $0.get()) != nil }.count == limit)
            #expect(tokens.filter { $0.failure as? AccountStoreError == .tooManyTokens(limit: limit) }.count == callers - limit,
                    "\(tokens)")
            #expect(try store.tokens(userID: user).count == limit, "never more than the limit")

            let keep = 2
            let sessions = await atOnce(callers) { _ in
                try? store.createSession(userID: user, secretHash: [1], now: Date(), maxAge: .seconds(60), keep: keep)
            }
            let live = try sessions.compactMap { $0?.id }.filter { try store.sessionCredential(id: $0) != nil }
            #expect(sessions.allSatisfy { $0 != nil })
            #expect(live.count == keep, "the newest \(keep) remain, as if the logins came one by one")
            #expect(Set(sessions.flatMap { $0?.ended ?? [] }).count == callers - keep, "each ended session reported once")
        }
    }

    /// The same instant, as far as the database keeps it (to the millisecond).
    private func same(_ stored: Date?, _ expected: Date) -> Bool {
        stored.map { abs($0.timeIntervalSince(expected)) < 0.001 } ?? false
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
