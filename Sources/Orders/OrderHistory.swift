import Foundation
import GRDB

/// Orders as stored.
struct OrderHistory: Sendable {
    let database: DatabasePool

    func order(id: Int64) throws -> Order? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM trade_order WHERE id = ?", arguments: [id]).map(Self.order)
        }
    }

    /// The user's orders, newest first.
    func orders(userID: Int64, limit: Int) throws -> [Order] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM trade_order WHERE user_id = ? ORDER BY id DESC LIMIT ?",
                             arguments: [userID, limit]).map(Self.order)
        }
    }

    /// The newest order for this user and key submitted after `since`.
    func order(userID: Int64, key: String, since: Date) throws -> Order? {
        try database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT * FROM trade_order WHERE user_id = ? AND idempotency_key = ? AND submitted_at > ?
                ORDER BY id DESC LIMIT 1
                """, arguments: [userID, key, since]).map(Self.order)
        }
    }

    private static func order(_ row: Row) -> Order {
        Order(id: row["id"], userID: row["user_id"] ?? 0,
              side: OrderSide(rawValue: row["side"]) ?? .buy, price: Price(micros: row["price_micros"]),
              status: OrderStatus(rawValue: row["status"]) ?? .failed, reason: row["reason"], batch: row["batch_id"],
              idempotencyKey: row["idempotency_key"], submittedAt: row["submitted_at"], executedAt: row["executed_at"])
    }
}
