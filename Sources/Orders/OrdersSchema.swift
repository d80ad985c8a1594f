import GRDB
import Storage

/// Orders and the batches that executed them, in SQLite (`SQLiteOrderStore`).
///
/// A batch row is written, with its orders, before the execution call (`status = 'sent'`) and
/// updated when the outcome is known (`decided` or `failed`). A batch still `sent` when the
/// responder starts was cut off mid-call: `OrderStore.recover` marks it `unreconciled` (see the README).
/// An order's `user_id` becomes NULL when its user is deleted: the history keeps the order.
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
}
