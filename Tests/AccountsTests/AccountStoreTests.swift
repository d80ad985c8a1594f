@testable import Accounts
import Foundation
import Storage
import Testing
import TestSupport

/// The accounts store's own rules, through its protocol.
struct AccountStoreTests {
    let directory: TemporaryDirectory
    let store: any AccountStore

    init() throws {
        directory = try TemporaryDirectory("accounts")
        store = try makeAccountStore(in: directory.path)
    }

    @Test func usernamesAreUniqueInAnyLetterCase() throws {
        defer { directory.remove() }
        let alice = try store.createUser(username: "Alice", passwordHash: "x")
        #expect(throws: AccountStoreError.usernameTaken) { try store.createUser(username: "aLICE", passwordHash: "y") }
        #expect(try store.user(named: "alice")?.id == alice.id)
        #expect(try store.usersWithTokenCounts().map(\.user.username) == ["Alice"])
    }

    @Test func aSessionEndsTheOldestBeyondTheLimitAndExpiredOnes() throws {
        defer { directory.remove() }
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
    }

    @Test func tokensAreLimitedPerUserAndGoWithTheirUser() throws {
        defer { directory.remove() }
        let alice = try store.createUser(username: "alice", passwordHash: "x").id!
        let bob = try store.createUser(username: "bob", passwordHash: "x").id!
        let (token, secret) = try store.createToken(userID: alice, name: "ci", limit: 2)
        #expect(SecretToken(apiToken: secret)?.matches(try #require(try store.tokenCredential(id: token.id!)).secretHash) == true)
        _ = try store.createToken(userID: alice, name: "laptop", limit: 2)
        #expect(throws: AccountStoreError.tooManyTokens(limit: 2)) { try store.createToken(userID: alice, name: "third", limit: 2) }
        #expect(try store.tokens(userID: alice).map(\.name) == ["ci", "laptop"])
        #expect(try !store.deleteToken(id: token.id!, userID: bob), "only its owner deletes it")
        #expect(try store.deleteToken(id: token.id!, userID: alice))
        #expect(try store.tokenCredential(id: token.id!) == nil)
        let session = try store.createSession(userID: alice, secretHash: [1], now: Date(), maxAge: .seconds(60), keep: 5).id
        #expect(try store.usersWithTokenCounts().map(\.tokens) == [1, 0])
        #expect(try store.deleteUser(named: "ALICE"))
        #expect(try !store.deleteUser(named: "alice"))
        #expect(try store.tokens(userID: alice).isEmpty)
        #expect(try store.sessionCredential(id: session) == nil)
    }

    /// The same instant, as far as the database keeps it (to the millisecond).
    private func same(_ stored: Date?, _ expected: Date) -> Bool {
        stored.map { abs($0.timeIntervalSince(expected)) < 0.001 } ?? false
    }
}
