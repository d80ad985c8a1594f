import Accounts
import Chat
import Foundation
import JobQueue
@testable import Orders
import Storage
import TestSupport
import Testing
import TradedeskApp

/// `tradedesk copy-data` moves a desk from SQLite to PostgreSQL: every kind of row comes across
/// unchanged (ids, timestamps, hashes, the order history), read back through the PostgreSQL stores,
/// identities continue past every id SQLite ever gave, and a second run refuses to overwrite.
struct CopyDataTests {
    /// A desk with every kind of row: users (one deleted, so that SQLite's sequence is past the
    /// highest id), sessions, tokens, rooms, messages, the bot's replies, jobs in every state, and
    /// orders of every status in batches decided, failed and cut off.
    func fillSQLite(at path: String) throws -> (stores: Stores, users: [User], sessions: [Int64], jobs: [Int64], orders: [Int64]) {
        let stores = try Stores.sqlite(path: path)
        let now = Date(timeIntervalSince1970: 1_764_600_000.123)
        let alice = try stores.accounts.createUser(username: "Alice", passwordHash: PasswordHasher.hash("correct horse"), now: now)
        let bob = try stores.accounts.createUser(username: "bob", passwordHash: "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA", now: now)
        let carol = try stores.accounts.createUser(username: "carol", passwordHash: "x", now: now)
        let sessions = try (0..<3).map { index in
            try stores.accounts.createSession(userID: alice.id!, secretHash: Array(repeating: UInt8(index), count: 32) + [0, 0xFF],
                                              now: now.addingTimeInterval(Double(index)), maxAge: .seconds(3600), keep: 5).id
        }
        try stores.accounts.touchSession(id: sessions[0], at: now.addingTimeInterval(30.5))
        _ = try stores.accounts.createToken(userID: bob.id!, name: "cron", limit: 5, now: now)
        let token = try stores.accounts.createToken(userID: alice.id!, name: "script ☕︎", limit: 5, now: now)
        try stores.accounts.touchToken(id: token.token.id!, at: now.addingTimeInterval(60))

        let desk = try stores.chat.createRoom(name: "Desk Talk", by: "bob")
        _ = try stores.chat.post(roomID: 1, author: "Alice", text: "hello 'general' \"room\" \\ ✓")
        _ = try stores.chat.post(roomID: desk.id, author: "bob", text: "second room")
        let answered = try stores.chat.enqueueCommand(roomID: desk.id, userID: bob.id!, username: "bob", command: "/stock=aapl.us")
        let dead = try stores.chat.enqueueCommand(roomID: 1, userID: alice.id!, username: "Alice", command: "/stock=zzzz.us")
        let queued = try stores.jobs.enqueue(roomID: 1, userID: nil, username: "carol", command: "/stock=msft.us")
        let claimed = try stores.jobs.claim(owner: "bot-1", lease: 30, limit: 2, now: now)
        #expect(claimed.map(\.id) == [answered.id, dead.id])
        try stores.jobs.answer(jobID: answered.id!, owner: "bot-1", reply: "AAPL.US quote is $93.42 per share", now: now)
        try stores.jobs.kill(jobID: dead.id!, owner: "bot-1", error: "HTTP 503", apology: "sorry", now: now)
        _ = try stores.chat.deliver(stores.jobs.undeliveredReplies())

        let first = try stores.orders.nextIDs()
        func order(_ id: Int64, _ user: Int64?, _ side: OrderSide, _ micros: Int64, key: String? = nil) -> Order {
            Order(id: id, userID: user, side: side, price: Price(micros: micros), status: .pending, reason: nil, batch: nil,
                  idempotencyKey: key, submittedAt: now, executedAt: nil)
        }
        let ids = (0..<6).map { first.order + Int64($0) }
        try stores.orders.write(ids.enumerated().map { index, id in
            .received(order(id, index % 2 == 0 ? alice.id : carol.id, index % 3 == 0 ? .sell : .buy, 1_000_000 + Int64(index), key: index == 1 ? "key-1" : nil))
        })
        try stores.orders.write([
            .sent(batch: first.batch, orders: [ids[0], ids[1]], at: now),
            .decided(batch: first.batch, outcomes: [(ids[0], .approved, nil), (ids[1], .rejected, "price above the limit")], at: now.addingTimeInterval(0.25), error: nil),
            .sent(batch: first.batch + 1, orders: [ids[2]], at: now),
            .decided(batch: first.batch + 1, outcomes: [(ids[2], .failed, "the execution call failed")], at: now, error: "timeout"),
            .withdrawn(id: ids[3], reason: "the client left", at: now),
            .sent(batch: first.batch + 2, orders: [ids[4]], at: now),
        ])
        _ = try stores.orders.recover(now: now.addingTimeInterval(1))  // batch +2 cut off mid-call, ids[5] never sent
        #expect(try stores.accounts.deleteUser(named: "carol"))
        _ = queued
        return (stores, [alice, bob], sessions, [answered.id!, dead.id!, queued.id!], ids)
    }

    /// `value` as text, its dates to the millisecond: SQLite and PostgreSQL both keep milliseconds,
    /// and the two ways of reading one back may differ in a Double's last bits.
    func canonical(_ value: Any) -> String {
        if let date = value as? Date { return "\(Int64((date.timeIntervalSince1970 * 1000).rounded()))ms" }
        if let data = value as? Data { return data.base64EncodedString() }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional { return mirror.children.first.map { canonical($0.value) } ?? "nil" }
        guard !mirror.children.isEmpty else { return "\(value)" }
        return "(" + mirror.children.map { "\($0.label ?? ""): \(canonical($0.value))" }.joined(separator: ", ") + ")"
    }

    @Test func aDeskMovesToPostgreSQLUnchangedAndASecondCopyIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("desk.sqlite")
        let source = try fillSQLite(at: path)
        let target = try PostgresServer.shared.createDatabase()

        let copy = try ChildProcess.run(Paths.product("tradedesk"), ["copy-data", "--from", path, "--to", target],
                                        logPath: directory.file("copy.log"), timeout: .seconds(60))
        #expect(copy.status == 0, "\(copy.output)")
        #expect(copy.output.contains("trade_order\t6 row(s)") && copy.output.contains("message\t"), "\(copy.output)")

        let copied = try Stores.open(.postgres(url: target))
        let (from, to) = (source.stores, copied)
        for user in source.users {
            let there = try #require(try to.accounts.user(named: user.username.uppercased()))
            #expect(canonical(there) == canonical(user))
            #expect(try canonical(to.accounts.tokens(userID: user.id!)) == canonical(from.accounts.tokens(userID: user.id!)))
        }
        #expect(try to.accounts.user(named: "carol") == nil)
        for session in source.sessions {
            let (a, b) = (try #require(try from.accounts.sessionCredential(id: session)), try #require(try to.accounts.sessionCredential(id: session)))
            #expect(canonical(a) == canonical(b))
        }
        #expect(try canonical(to.chat.rooms(after: 0, limit: 10)) == canonical(from.chat.rooms(after: 0, limit: 10)))
        for room in try from.chat.rooms(after: 0, limit: 10) {
            #expect(try canonical(to.chat.lastMessages(roomID: room.id)) == canonical(from.chat.lastMessages(roomID: room.id)))
        }
        for job in source.jobs { #expect(try canonical(to.jobs.job(id: job) as Any) == canonical(from.jobs.job(id: job) as Any)) }
        for order in source.orders { #expect(try canonical(to.orders.order(id: order) as Any) == canonical(from.orders.order(id: order) as Any)) }
        #expect(try to.orders.nextIDs() == from.orders.nextIDs())
        #expect(try to.jobs.undeliveredReplies().isEmpty && to.jobs.claim(owner: "bot-2", lease: 30)?.id == source.jobs[2])

        // Identities continue after SQLite's: carol's id (deleted, the highest) is not given again.
        let dave = try to.accounts.createUser(username: "dave", passwordHash: "x")
        #expect(dave.id! > source.users.map { $0.id! }.max()! + 1)
        let room = try to.chat.createRoom(name: "after the move", by: "dave")
        #expect(try room.id > from.chat.rooms(after: 0, limit: 10).map(\.id).max()!)

        let again = try ChildProcess.run(Paths.product("tradedesk"), ["copy-data", "--from", path, "--to", target],
                                         logPath: directory.file("again.log"), timeout: .seconds(60))
        #expect(again.status != 0 && again.output.contains("holds data already"), "\(again.output)")
        #expect(try to.accounts.user(named: "dave") != nil, "the refused run changed nothing")
    }
}
