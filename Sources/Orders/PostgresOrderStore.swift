import Foundation
import Postgres

/// The order history in PostgreSQL (see `OrdersSchema.postgresMigrations`).
///
/// The journal's `write` is usually one statement over arrays of values, however many events it
/// carries (see `PostgresOrderStore+Journal.swift`); the other calls are one statement each, or,
/// for `recover`, one transaction.
///
/// Errors are thrown as `PostgresError`; a row the code cannot read (a side or status it does not
/// know) is one of kind `.decoding`, naming the column and the value.
public struct PostgresOrderStore: OrderStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    // MARK: Reads

    private static let columns = """
        id, user_id, side, price_micros, status, reason, batch_id, idempotency_key, submitted_at, executed_at
        """

    public func order(id: Int64) throws -> Order? {
        try database.withConnection { connection in
            try connection.query("SELECT \(Self.columns) FROM trade_order WHERE id = $1", [id])
                .rows.first.map(Self.order)
        }
    }

    public func orders(userID: Int64, limit: Int) throws -> [Order] {
        try database.withConnection { connection in
            try connection.query("SELECT \(Self.columns) FROM trade_order WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                                 [userID, limit]).rows.map(Self.order)
        }
    }

    public func order(userID: Int64, key: String, since: Date) throws -> Order? {
        try database.withConnection { connection in
            try connection.query("""
                SELECT \(Self.columns) FROM trade_order WHERE user_id = $1 AND idempotency_key = $2 AND submitted_at > $3
                ORDER BY id DESC LIMIT 1
                """, [userID, key, since]).rows.first.map(Self.order)
        }
    }

    // MARK: At start

    public func recover(now: Date) throws -> OrderRecovery {
        try database.transaction { connection in
            var recovery = OrderRecovery()
            recovery.withdrawn = try connection.query("""
                UPDATE trade_order SET status = 'withdrawn', executed_at = $1,
                    reason = 'the responder stopped before the order was sent'
                WHERE status = 'pending' AND batch_id IS NULL
                """, [now]).affectedRows
            recovery.unreconciledOrders = try connection.query("""
                UPDATE trade_order SET status = 'failed', executed_at = $1,
                    reason = 'the responder stopped while batch ' || batch_id || ' was executing: its outcome is unknown and needs reconciliation with the execution server'
                WHERE status = 'pending' AND batch_id IN (SELECT id FROM batch WHERE status = 'sent')
                """, [now]).affectedRows
            recovery.unreconciledBatches = try connection.query(
                "UPDATE batch SET status = 'unreconciled', decided_at = $1 WHERE status = 'sent'", [now]).affectedRows
            return recovery
        }
    }

    public func nextIDs() throws -> (order: Int64, batch: Int64) {
        try database.withConnection { connection in
            let result = try connection.query("""
                SELECT (SELECT coalesce(max(id), 0) FROM trade_order), (SELECT coalesce(max(id), 0) FROM batch)
                """)
            guard let row = result.rows.first else { return (1, 1) }
            return (try row.decode(0, as: Int64.self) + 1, try row.decode(1, as: Int64.self) + 1)
        }
    }

    // MARK: Rows

    /// A `trade_order` row, in the order of `columns`. A side or status the code does not know is
    /// an error naming the column and the value, never a default.
    private static func order(_ row: PostgresRow) throws -> Order {
        Order(id: try row.decode(0, as: Int64.self),
              userID: try row.decode(1, as: Int64?.self),
              side: try known(OrderSide.self, row, 2, "side"),
              price: Price(micros: try row.decode(3, as: Int64.self)),
              status: try known(OrderStatus.self, row, 4, "status"),
              reason: try row.decode(5, as: String?.self),
              batch: try row.decode(6, as: Int64?.self),
              idempotencyKey: try row.decode(7, as: String?.self),
              submittedAt: try row.decode(8, as: Date.self),
              executedAt: try row.decode(9, as: Date?.self))
    }

    private static func known<Value: RawRepresentable<String>>(_ type: Value.Type, _ row: PostgresRow, _ column: Int,
                                                                 _ name: String) throws -> Value {
        let text = try row.decode(column, as: String.self)
        guard let value = Value(rawValue: text) else {
            throw PostgresError(.decoding, message: "could not decode \(Value.self) from database value \"\(text)\" - column: \"\(name)\"")
        }
        return value
    }
}
