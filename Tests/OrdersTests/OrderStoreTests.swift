import Accounts
import Foundation
import GRDB
@testable import Orders
import Postgres
import Storage
import Testing
import TestSupport

/// The order history through its protocol, on every backend: what the journal writes, what a
/// restart recovers.
struct OrderStoreTests {
    /// A fresh history with one user, alice.
    struct Fixture {
        let directory: TemporaryDirectory
        let backend: TestBackend
        let store: any OrderStore
        let userID: Int64

        init(_ backend: TestBackend) throws {
            directory = try TemporaryDirectory("orders")
            self.backend = backend
            let stores = try makeStores(backend, in: directory.path)
            store = stores.orders
            userID = try stores.accounts.createUser(username: "alice", passwordHash: "x").id!
        }

        func order(_ id: Int64, _ side: OrderSide = .buy, key: String? = nil, at time: Date = .nowToTheMillisecond) -> Order {
            Order(id: id, userID: userID, side: side, price: Price(micros: 1_500_000), status: .pending, reason: nil, batch: nil,
                  idempotencyKey: key, submittedAt: time, executedAt: nil)
        }

        /// The same database, opened again as a restarted responder opens it.
        func reopened() throws -> (accounts: any AccountStore, orders: any OrderStore) {
            try makeStores(backend, in: directory.path)
        }
    }

    @Test(arguments: TestBackend.all)
    func whatIsWrittenIsReadBack(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.directory.remove() }
        let store = fixture.store
        let now = Date.nowToTheMillisecond
        try store.write([.received(fixture.order(1, .buy, key: "k", at: now)), .received(fixture.order(2, .sell, at: now)),
                         .sent(batch: 1, orders: [1, 2], at: now)])
        try store.write([.decided(batch: 1, outcomes: [(1, .approved, nil), (2, .rejected, "too high")], at: now, error: nil)])
        let orders = try store.orders(userID: fixture.userID, limit: 10)
        #expect(orders.map(\.id) == [2, 1], "newest first")
        #expect(orders.map(\.side) == [.sell, .buy])
        #expect(orders.map(\.status) == [.rejected, .approved])
        #expect(orders[0].reason == "too high" && orders.allSatisfy { $0.batch == 1 && $0.price == Price(micros: 1_500_000) })
        #expect(orders.allSatisfy { ms($0.submittedAt) == ms(now) && ms($0.executedAt) == ms(now) && $0.userID == fixture.userID })
        #expect(try store.orders(userID: fixture.userID, limit: 1).map(\.id) == [2])
        #expect(try store.order(userID: fixture.userID, key: "k", since: now.addingTimeInterval(-60))?.id == 1)
        #expect(try store.order(userID: fixture.userID, key: "k", since: now.addingTimeInterval(1)) == nil)
        #expect(try store.nextIDs() == (order: 3, batch: 2))
    }

    /// A call is one transaction: a batch that names an order the history lacks writes nothing.
    @Test(arguments: TestBackend.all)
    func aFailedWriteWritesNothing(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.directory.remove() }
        let store = fixture.store
        let error = #expect(throws: (any Error).self) { try store.write([.received(fixture.order(1)), .sent(batch: 1, orders: [1, 99], at: Date())]) }
        #expect(error.flatMap(StorageFault.init) == nil, "a refused event, not a fault to wait out: \(String(describing: error))")
        #expect(try store.order(id: 1) == nil)
        #expect(try store.nextIDs() == (order: 1, batch: 1))
        // Several batches in a row, the last one lacking an order.
        try store.write([.received(fixture.order(1)), .received(fixture.order(2))])
        #expect(throws: (any Error).self) {
            try store.write([.received(fixture.order(3)), .sent(batch: 1, orders: [1], at: Date()), .sent(batch: 2, orders: [2, 98], at: Date())])
        }
        #expect(try store.order(id: 3) == nil)
        #expect(try store.order(id: 1)?.batch == nil)
        #expect(try store.nextIDs() == (order: 3, batch: 1))
    }

    /// Many events to a call, of every kind, interleaved, some changing one order twice: the
    /// history is what writing them one by one, in order, would leave.
    @Test(arguments: TestBackend.all)
    func aLongWriteIsAppliedInOrder(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.directory.remove() }
        let store = fixture.store
        let now = Date.nowToTheMillisecond
        let later = now.addingTimeInterval(1)
        try store.write((1...5).map { .received(fixture.order($0, key: "key-\($0)")) } + [
            .withdrawn(id: 5, reason: "first", at: now),
            .withdrawn(id: 5, reason: "second", at: later),
            .sent(batch: 1, orders: [1, 2], at: now),
            .sent(batch: 2, orders: [2, 3], at: now),
            .received(fixture.order(6, .sell)),
            .decided(batch: 1, outcomes: [(1, .approved, nil)], at: now, error: nil),
            .decided(batch: 2, outcomes: [(2, .rejected, "too high"), (3, .approved, nil)], at: now, error: nil),
            .decided(batch: 2, outcomes: [(3, .failed, "again")], at: later, error: "boom"),
            .sent(batch: 3, orders: [4], at: now),
            .sent(batch: 4, orders: [6], at: now),
        ])
        func state(_ id: Int64) throws -> (OrderStatus, String?, Int64?, Int64?)? {
            try store.order(id: id).map { ($0.status, $0.reason, $0.batch, ms($0.executedAt)) }
        }
        #expect(try state(1)! == (.approved, nil, 1, ms(now)))
        #expect(try state(2)! == (.rejected, "too high", 2, ms(now)), "moved to the second batch")
        #expect(try state(3)! == (.failed, "again", 2, ms(later)), "the later outcome wins")
        #expect(try state(4)! == (.pending, nil, 3, nil))
        #expect(try state(5)! == (.withdrawn, "second", nil, ms(later)))
        #expect(try state(6)! == (.pending, nil, 4, nil))
        #expect(try store.order(id: 6)?.side == .sell)
        #expect(try store.nextIDs() == (order: 7, batch: 5))
        #expect(try store.recover(now: later) == OrderRecovery(withdrawn: 0, unreconciledBatches: 2, unreconciledOrders: 2))

        // A thousand orders in one call, in batches of ten, then all their outcomes in another.
        let ids = Array(Int64(7)...1006)
        let batches = stride(from: 0, to: ids.count, by: 10).map { Array(ids[$0..<$0 + 10]) }
        try store.write(ids.map { .received(fixture.order($0, $0 % 2 == 0 ? .buy : .sell)) }
            + batches.enumerated().map { .sent(batch: Int64($0.offset) + 5, orders: $0.element, at: now) })
        try store.write(batches.enumerated().map { index, orders in
            .decided(batch: Int64(index) + 5, outcomes: orders.map { ($0, $0 % 3 == 0 ? .rejected : .approved, nil) }, at: later, error: nil)
        })
        let stored = try store.orders(userID: fixture.userID, limit: 2000)
        #expect(stored.count == 1006)
        #expect(stored.filter { $0.id >= 7 }.allSatisfy {
            $0.status == ($0.id % 3 == 0 ? .rejected : .approved) && $0.batch == ($0.id - 7) / 10 + 5
                && $0.side == ($0.id % 2 == 0 ? .buy : .sell) && ms($0.executedAt) == ms(later)
        })
        #expect(try store.nextIDs() == (order: 1007, batch: 105))
    }

    /// Keys and reasons are the clients' and the code's own text: each comes back as it went in,
    /// whatever it holds (PostgreSQL gets many in one array, whose syntax they must not break).
    @Test(arguments: TestBackend.all)
    func anyTextComesBackAsItWasWritten(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.directory.remove() }
        let store = fixture.store
        let texts = ["quote\"d", "back\\slash", "\\\"", "{braces,and,commas}", "NULL", "null", "", "  spaced  ", "ünïcødé €🚀",
                     "new\nline", "tab\tend", "'single'", "(parens)", "a,b"]
        let now = Date.nowToTheMillisecond
        let ids = (1...texts.count).map(Int64.init)
        try store.write(zip(ids, texts).map { .received(fixture.order($0, key: $1, at: now)) } + [.received(fixture.order(100, at: now))])
        try store.write(zip(ids, texts).map { .withdrawn(id: $0, reason: $1, at: now) })
        for (id, text) in zip(ids, texts) {
            let order = try #require(try store.order(id: id))
            #expect(order.idempotencyKey == text && order.reason == text, "\(id): \(text.debugDescription)")
            #expect(try store.order(userID: fixture.userID, key: text, since: now.addingTimeInterval(-1))?.id == id, "\(text.debugDescription)")
        }
        #expect(try store.order(id: 100)?.idempotencyKey == nil, "no key is no key, not the text NULL")
        try store.write([.sent(batch: 1, orders: [100], at: now)])
        try store.write([.decided(batch: 1, outcomes: [(100, .rejected, texts.joined())], at: now, error: texts.joined())])
        #expect(try store.order(id: 100)?.reason == texts.joined())
    }

    /// What a crash leaves: an order never sent, and a batch cut off mid-call.
    @Test(arguments: TestBackend.all)
    func recoveryLeavesNoOrderInLimbo(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.directory.remove() }
        let store = fixture.store
        try store.write([.received(fixture.order(1)), .received(fixture.order(2)), .sent(batch: 1, orders: [1], at: Date())])
        #expect(try store.recover(now: Date()) == OrderRecovery(withdrawn: 1, unreconciledBatches: 1, unreconciledOrders: 1))
        let failed = try #require(try store.order(id: 1))
        #expect(failed.status == .failed && failed.reason?.contains("batch 1 was executing") == true)
        let withdrawn = try #require(try store.order(id: 2))
        #expect(withdrawn.status == .withdrawn && withdrawn.reason == "the responder stopped before the order was sent")
        #expect(try store.recover(now: Date()) == OrderRecovery(), "nothing is left the second time")
        #expect(try fixture.reopened().orders.nextIDs() == (order: 3, batch: 2), "ids continue after a restart")
    }

    /// A deleted user's orders stay in the history, belonging to nobody.
    @Test(arguments: TestBackend.all)
    func anOrderOutlivesItsUser(_ backend: TestBackend) throws {
        let fixture = try Fixture(backend)
        defer { fixture.directory.remove() }
        let store = fixture.store
        try store.write([.received(fixture.order(1))])
        #expect(try fixture.reopened().accounts.deleteUser(named: "alice"))
        #expect(try store.order(id: 1)?.userID == nil)
        #expect(try store.orders(userID: fixture.userID, limit: 10).isEmpty)
    }
}

/// A date as far as the database keeps it, in milliseconds: a date read back from SQLite may
/// differ from the one written in its last bit.
func ms(_ date: Date?) -> Int64? {
    date.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
}

/// A row written behind the code's back (its CHECK constraints off, or dropped) with a side or a
/// status the code does not know makes the read throw, naming the column and the value; it is
/// never read as a buy, nor as some other status.
struct OrderRowTests {
    @Test(arguments: TestBackend.all, [("side", "hold", "OrderSide"), ("status", "lost", "OrderStatus")])
    func anUnknownValueMakesTheReadThrow(_ backend: TestBackend, _ damage: (column: String, value: String, type: String)) throws {
        let directory = try TemporaryDirectory("orders")
        defer { directory.remove() }
        let store = try makeStores(backend, in: directory.path).orders
        try store.write([.received(Order(id: 1, userID: nil, side: .sell, price: Price(micros: 1), status: .pending, reason: nil,
                                         batch: nil, idempotencyKey: nil, submittedAt: Date(), executedAt: nil))])
        switch backend {
        case .sqlite:
            let database = try DatabaseFile.open(path: directory.file("db.sqlite"))
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
                try db.execute(sql: "UPDATE trade_order SET \(damage.column) = ? WHERE id = 1", arguments: [damage.value])
                try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
            }
        case .postgres:
            let database = try PostgresDatabase(url: try postgresURL(in: directory.path))
            try database.withConnection { connection in
                try connection.execute("ALTER TABLE trade_order DROP CONSTRAINT trade_order_\(damage.column)_check")
                try connection.query("UPDATE trade_order SET \(damage.column) = $1 WHERE id = 1", [damage.value])
            }
        }
        let error = #expect(throws: (any Error).self) { try store.order(id: 1) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("could not decode \(damage.type) from database value \"\(damage.value)\""), "\(message)")
        #expect(message.contains("column: \"\(damage.column)\""), "\(message)")
    }
}
