import Foundation
import GRDB

/// The order history in the SQLite file (see `OrdersSchema`).
public struct SQLiteOrderStore: OrderStore {
    let database: DatabasePool

    public init(database: DatabasePool) { self.database = database }

    // MARK: Reads

    public func order(id: Int64) throws -> Order? {
        try database.read { db in
            try Order.fetchOne(db, sql: "SELECT * FROM trade_order WHERE id = ?", arguments: [id])
        }
    }

    public func orders(userID: Int64, limit: Int) throws -> [Order] {
        try database.read { db in
            try Order.fetchAll(db, sql: "SELECT * FROM trade_order WHERE user_id = ? ORDER BY id DESC LIMIT ?",
                               arguments: [userID, limit])
        }
    }

    public func order(userID: Int64, key: String, since: Date) throws -> Order? {
        try database.read { db in
            try Order.fetchOne(db, sql: """
                SELECT * FROM trade_order WHERE user_id = ? AND idempotency_key = ? AND submitted_at > ?
                ORDER BY id DESC LIMIT 1
                """, arguments: [userID, key, since])
        }
    }

    // MARK: The journal

    public func write(_ events: [OrderEvent]) throws {
        try database.write { db in
            for event in events { try apply(event, db) }
        }
    }

    /// Statements are prepared once per connection (`cachedStatement`), and a batch's orders are
    /// updated by one statement over a JSON array of ids: at thousands of orders a second, parsing
    /// SQL and a statement per order were most of the journal's work.
    private func apply(_ event: OrderEvent, _ db: Database) throws {
        switch event {
        case .received(let order):
            try db.cachedStatement(sql: """
                INSERT INTO trade_order (id, user_id, side, price_micros, status, idempotency_key, submitted_at)
                VALUES (?, ?, ?, ?, 'pending', ?, ?)
                """).execute(arguments: [order.id, order.userID, order.side, order.price.micros, order.idempotencyKey, order.submittedAt])
        case .withdrawn(let id, let reason, let time):
            try db.cachedStatement(sql: "UPDATE trade_order SET status = 'withdrawn', reason = ?, executed_at = ? WHERE id = ?")
                .execute(arguments: [reason, time, id])
        case .sent(let batch, let orders, let time):
            try db.cachedStatement(sql: "INSERT INTO batch (id, status, size, sent_at) VALUES (?, 'sent', ?, ?)")
                .execute(arguments: [batch, orders.count, time])
            try db.cachedStatement(sql: "UPDATE trade_order SET batch_id = ? WHERE id IN (SELECT value FROM json_each(?))")
                .execute(arguments: [batch, Self.jsonArray(orders)])
            // A batch is executed only if the history holds every one of its orders.
            guard db.changesCount == orders.count else {
                throw DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "batch \(batch): some of its orders are not in the history")
            }
        case .decided(let batch, let outcomes, let time, let error):
            try db.cachedStatement(sql: "UPDATE batch SET status = ?, decided_at = ?, error = ? WHERE id = ?")
                .execute(arguments: [error == nil ? "decided" : "failed", time, error, batch])
            // Outcomes sharing a status and reason (usually all of them) are one statement.
            let groups = Dictionary(grouping: outcomes) { OutcomeGroup(status: $0.status, reason: $0.reason) }
            for (group, members) in groups {
                try db.cachedStatement(sql: """
                    UPDATE trade_order SET status = ?, reason = ?, executed_at = ? WHERE id IN (SELECT value FROM json_each(?))
                    """).execute(arguments: [group.status, group.reason, time, Self.jsonArray(members.map(\.id))])
            }
        }
    }

    private struct OutcomeGroup: Hashable {
        let status: OrderStatus
        let reason: String?
    }

    private static func jsonArray(_ ids: [Int64]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    // MARK: At start

    public func recover(now: Date) throws -> OrderRecovery {
        try database.write { db in
            var recovery = OrderRecovery()
            try db.execute(sql: """
                UPDATE trade_order SET status = 'withdrawn', executed_at = ?,
                    reason = 'the responder stopped before the order was sent'
                WHERE status = 'pending' AND batch_id IS NULL
                """, arguments: [now])
            recovery.withdrawn = db.changesCount
            try db.execute(sql: """
                UPDATE trade_order SET status = 'failed', executed_at = ?,
                    reason = 'the responder stopped while batch ' || batch_id || ' was executing: its outcome is unknown and needs reconciliation with the execution server'
                WHERE status = 'pending' AND batch_id IN (SELECT id FROM batch WHERE status = 'sent')
                """, arguments: [now])
            recovery.unreconciledOrders = db.changesCount
            try db.execute(sql: "UPDATE batch SET status = 'unreconciled', decided_at = ? WHERE status = 'sent'", arguments: [now])
            recovery.unreconciledBatches = db.changesCount
            return recovery
        }
    }

    public func nextIDs() throws -> (order: Int64, batch: Int64) {
        try database.read { db in
            let order = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM trade_order") ?? 0
            let batch = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM batch") ?? 0
            return (order + 1, batch + 1)
        }
    }
}

/// A `trade_order` row. Each column is decoded with `Row.decode`, which throws, naming the column
/// and the value, where a value cannot be read: a side or status the code does not know (see the
/// `DatabaseValueConvertible` conformances below) is an error, never a default.
extension Order: FetchableRecord, TableRecord {
    public static let databaseTableName = "trade_order"

    public init(row: Row) throws {
        self.init(id: try row.decode(forColumn: "id"),
                  userID: try row.decode(forColumn: "user_id"),
                  side: try row.decode(forColumn: "side"),
                  price: Price(micros: try row.decode(forColumn: "price_micros")),
                  status: try row.decode(forColumn: "status"),
                  reason: try row.decode(forColumn: "reason"),
                  batch: try row.decode(forColumn: "batch_id"),
                  idempotencyKey: try row.decode(forColumn: "idempotency_key"),
                  submittedAt: try row.decode(forColumn: "submitted_at"),
                  executedAt: try row.decode(forColumn: "executed_at"))
    }
}

/// Stored as their raw value; `fromDatabaseValue` is nil for any other text, and the read throws.
extension OrderSide: DatabaseValueConvertible {}
extension OrderStatus: DatabaseValueConvertible {}
