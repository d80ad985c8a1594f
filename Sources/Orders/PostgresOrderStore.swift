import Foundation
import Postgres

/// The order history in PostgreSQL (see `OrdersSchema.postgresMigrations`).
///
/// The journal's path is the one measured: at thousands of orders a second, what a write costs is
/// its round trips to the server, not the server's work. So `write` sends each run of events of
/// one kind (the orders received since the last write, the batches sent) as one statement over
/// arrays of values, `unnest`ed on the server, inside one transaction: a write of a thousand
/// orders is a handful of statements, each prepared once per connection.
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

    // MARK: The journal

    public func write(_ events: [OrderEvent]) throws {
        guard !events.isEmpty else { return }
        try database.transaction { connection in
            var start = events.startIndex
            while start < events.endIndex {
                let kind = Kind(events[start])
                let end = events[start...].firstIndex { Kind($0) != kind } ?? events.endIndex
                try apply(events[start..<end], of: kind, connection)
                start = end
            }
        }
    }

    private enum Kind {
        case received, withdrawn, sent, decided

        init(_ event: OrderEvent) {
            switch event {
            case .received: self = .received
            case .withdrawn: self = .withdrawn
            case .sent: self = .sent
            case .decided: self = .decided
            }
        }
    }

    /// One statement for a run of events of one kind, applied as they would be one by one: where
    /// two events of the run change one row, the later one's values are the ones written.
    private func apply(_ run: ArraySlice<OrderEvent>, of kind: Kind, _ connection: PostgresConnection) throws {
        switch kind {
        case .received:
            let orders = run.compactMap { event -> Order? in if case .received(let order) = event { order } else { nil } }
            try connection.query("""
                INSERT INTO trade_order (id, user_id, side, price_micros, status, idempotency_key, submitted_at)
                SELECT id, user_id, side, price_micros, 'pending', idempotency_key, submitted_at
                FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[])
                    AS o(id, user_id, side, price_micros, idempotency_key, submitted_at)
                """, [orders.map(\.id), orders.map(\.userID), orders.map(\.side.rawValue), orders.map(\.price.micros),
                      orders.map(\.idempotencyKey), orders.map(\.submittedAt)])
        case .withdrawn:
            var withdrawn = LastByID<(reason: String, time: Date)>()
            for case .withdrawn(let id, let reason, let time) in run { withdrawn[id] = (reason, time) }
            try connection.query("""
                UPDATE trade_order SET status = 'withdrawn', reason = w.reason, executed_at = w.at
                FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS w(id, reason, at) WHERE trade_order.id = w.id
                """, [withdrawn.ids, withdrawn.values.map(\.reason), withdrawn.values.map(\.time)])
        case .sent:
            let batches = run.compactMap { event -> (id: Int64, orders: [Int64], time: Date)? in
                if case .sent(let batch, let orders, let time) = event { (batch, orders, time) } else { nil }
            }
            let orders = batches.flatMap(\.orders)
            // An order named twice would be counted once; then each batch goes alone, so that the
            // count below is each batch's own, as the SQLite store checks it.
            if batches.count > 1, Set(orders).count != orders.count {
                for batch in batches { try send([batch], connection) }
            } else {
                try send(batches, connection)
            }
        case .decided:
            var batches = LastByID<(status: String, time: Date, error: String?)>()
            var orders = LastByID<(status: String, reason: String?, time: Date)>()
            for case .decided(let batch, let outcomes, let time, let error) in run {
                batches[batch] = (error == nil ? "decided" : "failed", time, error)
                for outcome in outcomes { orders[outcome.id] = (outcome.status.rawValue, outcome.reason, time) }
            }
            try connection.query("""
                WITH decided AS (
                    UPDATE batch SET status = d.status, decided_at = d.at, error = d.error
                    FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[]) AS d(id, status, at, error)
                    WHERE batch.id = d.id
                )
                UPDATE trade_order SET status = o.status, reason = o.reason, executed_at = o.at
                FROM unnest($5::bigint[], $6::text[], $7::text[], $8::timestamptz[]) AS o(id, status, reason, at)
                WHERE trade_order.id = o.id
                """, [batches.ids, batches.values.map(\.status), batches.values.map(\.time), batches.values.map(\.error),
                      orders.ids, orders.values.map(\.status), orders.values.map(\.reason), orders.values.map(\.time)])
        }
    }

    /// Stores the batches as sent and their orders as theirs, in one statement (the foreign key
    /// from the orders to their batch is checked at its end, when the batches are in). A batch is
    /// executed only if the history holds every one of its orders: otherwise this throws, and the
    /// transaction writes nothing.
    private func send(_ batches: [(id: Int64, orders: [Int64], time: Date)], _ connection: PostgresConnection) throws {
        let orders = batches.flatMap(\.orders)
        let assigned = try connection.query("""
            WITH sent AS (
                INSERT INTO batch (id, status, size, sent_at)
                SELECT id, 'sent', size, at FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS b(id, size, at)
            ), assigned AS (
                UPDATE trade_order SET batch_id = a.batch FROM unnest($4::bigint[], $5::bigint[]) AS a(id, batch)
                WHERE trade_order.id = a.id RETURNING 1
            )
            SELECT count(*) FROM assigned
            """, [batches.map(\.id), batches.map { Int64($0.orders.count) }, batches.map(\.time),
                  orders, batches.flatMap { batch in batch.orders.map { _ in batch.id } }]).scalar(Int.self)
        guard assigned == orders.count else {
            let names = batches.map { String($0.id) }.joined(separator: ", ")
            throw PostgresError(.statement, sqlState: "23503",
                                message: "batch \(names): some of its orders are not in the history")
        }
    }

    /// Values by id, in the order the ids first came, each id's last value winning: an
    /// `UPDATE … FROM unnest(…)` that met an id twice would take either row.
    private struct LastByID<Value> {
        private(set) var ids: [Int64] = []
        private(set) var values: [Value] = []
        private var positions: [Int64: Int] = [:]

        subscript(id: Int64) -> Value? {
            get { positions[id].map { values[$0] } }
            set {
                guard let newValue else { return }
                if let position = positions[id] {
                    values[position] = newValue
                } else {
                    positions[id] = ids.count
                    ids.append(id)
                    values.append(newValue)
                }
            }
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
