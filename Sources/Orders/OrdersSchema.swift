import Foundation
import GRDB
import Storage

/// Orders and the batches that executed them.
///
/// A batch row is written, with its orders, before the execution call (`status = 'sent'`) and
/// updated when the outcome is known (`decided` or `failed`). A batch still `sent` when the
/// responder starts was cut off mid-call: `recover` marks it `unreconciled` (see the README).
public enum OrdersSchema {
    public static let migrations: [Migration] = [
        Migration("orders-v1") { db in
            try db.execute(sql: """
                CREATE TABLE batch (
                    id INTEGER PRIMARY KEY,
                    status TEXT NOT NULL CHECK (status IN ('sent', 'decided', 'failed', 'unreconciled')),
                    size INTEGER NOT NULL,
                    sent_at DATETIME NOT NULL,
                    decided_at DATETIME,
                    error TEXT
                );
                CREATE TABLE trade_order (
                    id INTEGER PRIMARY KEY,
                    user_id INTEGER REFERENCES user(id) ON DELETE SET NULL,
                    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
                    price_micros INTEGER NOT NULL CHECK (price_micros > 0),
                    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'failed', 'withdrawn')),
                    reason TEXT,
                    batch_id INTEGER REFERENCES batch(id),
                    idempotency_key TEXT,
                    submitted_at DATETIME NOT NULL,
                    executed_at DATETIME
                );
                CREATE INDEX trade_order_user ON trade_order(user_id, id);
                CREATE INDEX trade_order_key ON trade_order(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
                """)
        },
    ]

    public struct Recovery: Sendable, Equatable {
        public var withdrawn = 0
        public var unreconciledBatches = 0
        public var unreconciledOrders = 0
    }

    /// Leaves no order in limbo after a crash: orders never sent are withdrawn; batches cut off
    /// mid-call are marked unreconciled and their orders failed with the reason.
    public static func recover(_ database: DatabasePool, now: Date = Date()) throws -> Recovery {
        try database.write { db in
            var recovery = Recovery()
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

    /// The next free order and batch ids.
    static func nextIDs(_ database: DatabasePool) throws -> (order: Int64, batch: Int64) {
        try database.read { db in
            let order = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM trade_order") ?? 0
            let batch = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM batch") ?? 0
            return (order + 1, batch + 1)
        }
    }
}
