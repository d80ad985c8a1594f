import Postgres

extension OrdersSchema {
    /// Orders and batches in PostgreSQL (`PostgresOrderStore`): the same tables, columns, checks
    /// and indexes as `migrations` makes in SQLite. Ids are plain `bigint` keys, as there: the
    /// batcher assigns them (see `OrderStore.nextIDs`).
    ///
    /// `trade_order.user_id` references `"user"`, so these steps run after
    /// `AccountsSchema.postgresMigrations`.
    ///
    /// Each order is updated twice soon after it is inserted (its batch, then its outcome), and
    /// PostgreSQL writes a new version of the row each time: `fillfactor = 60` leaves room on the
    /// row's page for them, so that they are heap-only updates, which add nothing to the indexes.
    /// It changes how the table is stored, not what it holds.
    ///
    /// `orders_batch_incomplete` only fails, naming the batches: `PostgresOrderStore` writes a
    /// batch and its orders in one statement, and plain SQL has no other way to make a statement
    /// fail on a count it made (see `PostgresOrderStore+Journal.swift`).
    public static let postgresMigrations: [PostgresMigration] = [
        PostgresMigration("orders-v1", sql: """
            CREATE TABLE batch (
                id bigint PRIMARY KEY,
                status text NOT NULL CHECK (status IN ('sent', 'decided', 'failed', 'unreconciled')),
                size bigint NOT NULL,
                sent_at timestamptz NOT NULL,
                decided_at timestamptz,
                error text
            );
            CREATE TABLE trade_order (
                id bigint PRIMARY KEY,
                user_id bigint REFERENCES "user"(id) ON DELETE SET NULL,
                side text NOT NULL CHECK (side IN ('buy', 'sell')),
                price_micros bigint NOT NULL CHECK (price_micros > 0),
                status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'failed', 'withdrawn')),
                reason text,
                batch_id bigint REFERENCES batch(id),
                idempotency_key text,
                submitted_at timestamptz NOT NULL,
                executed_at timestamptz
            ) WITH (fillfactor = 60);
            CREATE INDEX trade_order_user ON trade_order(user_id, id);
            CREATE INDEX trade_order_key ON trade_order(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
            CREATE FUNCTION orders_batch_incomplete(batches text) RETURNS bigint LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'batch %: some of its orders are not in the history', batches USING ERRCODE = 'foreign_key_violation';
            END
            $$;
            """),
    ]
}
