import Foundation
import GRDB
@testable import Orders
import Storage
import Testing
import TestSupport

/// The order history through its protocol: what the journal writes, what a restart recovers.
struct OrderStoreTests {
    let directory: TemporaryDirectory
    let store: any OrderStore
    let userID: Int64

    init() throws {
        directory = try TemporaryDirectory("orders")
        let stores = try makeStores(in: directory.path)
        store = stores.orders
        userID = try stores.accounts.createUser(username: "alice", passwordHash: "x").id!
    }

    func order(_ id: Int64, _ side: OrderSide = .buy, key: String? = nil, at time: Date = .nowToTheMillisecond) -> Order {
        Order(id: id, userID: userID, side: side, price: Price(micros: 1_500_000), status: .pending, reason: nil, batch: nil,
              idempotencyKey: key, submittedAt: time, executedAt: nil)
    }

    @Test func whatIsWrittenIsReadBack() throws {
        defer { directory.remove() }
        let now = Date.nowToTheMillisecond
        try store.write([.received(order(1, .buy, key: "k")), .received(order(2, .sell)), .sent(batch: 1, orders: [1, 2], at: now)])
        try store.write([.decided(batch: 1, outcomes: [(1, .approved, nil), (2, .rejected, "too high")], at: now, error: nil)])
        let orders = try store.orders(userID: userID, limit: 10)
        #expect(orders.map(\.id) == [2, 1], "newest first")
        #expect(orders.map(\.side) == [.sell, .buy])
        #expect(orders.map(\.status) == [.rejected, .approved])
        #expect(orders[0].reason == "too high" && orders.allSatisfy { $0.batch == 1 && $0.price == Price(micros: 1_500_000) })
        #expect(try store.order(userID: userID, key: "k", since: now.addingTimeInterval(-60))?.id == 1)
        #expect(try store.order(userID: userID, key: "k", since: now.addingTimeInterval(1)) == nil)
        #expect(try store.nextIDs() == (order: 3, batch: 2))
    }

    /// A call is one transaction: a batch that names an order the history lacks writes nothing.
    @Test func aFailedWriteWritesNothing() throws {
        defer { directory.remove() }
        #expect(throws: (any Error).self) { try store.write([.received(order(1)), .sent(batch: 1, orders: [1, 99], at: Date())]) }
        #expect(try store.order(id: 1) == nil)
        #expect(try store.nextIDs() == (order: 1, batch: 1))
    }

    /// What a crash leaves: an order never sent, and a batch cut off mid-call.
    @Test func recoveryLeavesNoOrderInLimbo() throws {
        defer { directory.remove() }
        try store.write([.received(order(1)), .received(order(2)), .sent(batch: 1, orders: [1], at: Date())])
        #expect(try store.recover(now: Date()) == OrderRecovery(withdrawn: 1, unreconciledBatches: 1, unreconciledOrders: 1))
        let failed = try #require(try store.order(id: 1))
        #expect(failed.status == .failed && failed.reason?.contains("batch 1 was executing") == true)
        let withdrawn = try #require(try store.order(id: 2))
        #expect(withdrawn.status == .withdrawn && withdrawn.reason == "the responder stopped before the order was sent")
        #expect(try store.recover(now: Date()) == OrderRecovery(), "nothing is left the second time")
        #expect(try makeStores(in: directory.path).orders.nextIDs() == (order: 3, batch: 2), "ids continue after a restart")
    }

    /// A deleted user's orders stay in the history, belonging to nobody.
    @Test func anOrderOutlivesItsUser() throws {
        defer { directory.remove() }
        try store.write([.received(order(1))])
        #expect(try makeStores(in: directory.path).accounts.deleteUser(named: "alice"))
        #expect(try store.order(id: 1)?.userID == nil)
        #expect(try store.orders(userID: userID, limit: 10).isEmpty)
    }
}

/// SQLite only: a row written behind the code's back (its CHECK constraints off) with a side or a
/// status the code does not know makes the read throw, naming the column and the value; it is
/// never read as a buy, nor as some other status.
struct OrderRowTests {
    @Test(arguments: [("side", "hold", "OrderSide"), ("status", "lost", "OrderStatus")])
    func anUnknownValueMakesTheReadThrow(column: String, value: String, type: String) throws {
        let directory = try TemporaryDirectory("orders")
        defer { directory.remove() }
        let store = try makeStores(in: directory.path).orders
        try store.write([.received(Order(id: 1, userID: nil, side: .sell, price: Price(micros: 1), status: .pending, reason: nil,
                                         batch: nil, idempotencyKey: nil, submittedAt: Date(), executedAt: nil))])
        let database = try DatabaseFile.open(path: directory.file("db.sqlite"))
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE trade_order SET \(column) = ? WHERE id = 1", arguments: [value])
            try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        }
        let error = #expect(throws: (any Error).self) { try store.order(id: 1) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("could not decode \(type) from database value \"\(value)\""), "\(message)")
        #expect(message.contains("column: \"\(column)\""), "\(message)")
    }
}
