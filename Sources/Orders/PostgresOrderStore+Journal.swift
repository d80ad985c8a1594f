import Foundation
import Postgres

/// The journal's writes: many events to a call, at thousands of orders a second, where what a
/// write costs is its round trips to the server rather than the server's work.
///
/// So a write does not send a statement per event. It sorts the events into rounds of four
/// statements, one per kind (orders received, withdrawn, batches sent, decided), each over arrays
/// of values that the server `unnest`s; in the common write (orders received, a batch sent, an
/// earlier batch decided) everything fits one round. An event goes into the first round after
/// every earlier event that touches one of its orders or its batch, so that events on one row
/// keep their order, and no statement touches a row twice: the result is what writing the events
/// one by one would leave. Each statement is prepared once per connection; all of them run in one
/// transaction.
///
/// Every statement also names its rows with `id = ANY($n)`: the plan PostgreSQL keeps for a
/// prepared statement is made before it has statistics of a young table, and without that
/// condition it can settle on scanning the whole table for each write.
extension PostgresOrderStore {
    public func write(_ events: [OrderEvent]) throws {
        guard !events.isEmpty else { return }
        let rounds = Self.rounds(events)
        try database.transaction { connection in
            for round in rounds {
                if !round.received.isEmpty { try Self.insert(round.received, connection) }
                if !round.withdrawn.isEmpty { try Self.withdraw(round.withdrawn, connection) }
                if !round.sent.isEmpty { try Self.send(round.sent, connection) }
                if !round.decided.isEmpty { try Self.decide(round.decided, connection) }
            }
        }
    }

    /// Events to write in one statement each, in this order.
    private struct Round {
        var received: [Order] = []
        var withdrawn: [(id: Int64, reason: String, time: Date)] = []
        var sent: [(batch: Int64, orders: [Int64], time: Date)] = []
        var decided: [(batch: Int64, outcomes: [(id: Int64, status: OrderStatus, reason: String?)], time: Date, error: String?)] = []
    }

    /// Where an event goes: a round, and its statement's place in the round.
    private struct Place: Comparable {
        var round: Int
        var statement: Int

        static func < (lhs: Place, rhs: Place) -> Bool { (lhs.round, lhs.statement) < (rhs.round, rhs.statement) }

        /// The first place of `statement` after `previous`.
        static func first(_ statement: Int, after previous: Place) -> Place {
            Place(round: previous.statement < statement ? previous.round : previous.round + 1, statement: statement)
        }
    }

    private static func rounds(_ events: [OrderEvent]) -> [Round] {
        var rounds: [Round] = []
        // The place of the last event that touched each order and each batch.
        var orders: [Int64: Place] = [:]
        var batches: [Int64: Place] = [:]
        for event in events {
            let statement: Int, touchedOrders: [Int64], touchedBatch: Int64?
            switch event {
            case .received(let order): (statement, touchedOrders, touchedBatch) = (0, [order.id], nil)
            case .withdrawn(let id, _, _): (statement, touchedOrders, touchedBatch) = (1, [id], nil)
            case .sent(let batch, let ids, _): (statement, touchedOrders, touchedBatch) = (2, ids, batch)
            case .decided(let batch, let outcomes, _, _): (statement, touchedOrders, touchedBatch) = (3, outcomes.map(\.id), batch)
            }
            var place = Place(round: 0, statement: statement)
            for id in touchedOrders { if let previous = orders[id] { place = max(place, .first(statement, after: previous)) } }
            if let batch = touchedBatch, let previous = batches[batch] { place = max(place, .first(statement, after: previous)) }
            for id in touchedOrders { orders[id] = place }
            if let batch = touchedBatch { batches[batch] = place }

            while rounds.count <= place.round { rounds.append(Round()) }
            switch event {
            case .received(let order): rounds[place.round].received.append(order)
            case .withdrawn(let id, let reason, let time): rounds[place.round].withdrawn.append((id, reason, time))
            case .sent(let batch, let ids, let time): rounds[place.round].sent.append((batch, ids, time))
            case .decided(let batch, let outcomes, let time, let error): rounds[place.round].decided.append((batch, outcomes, time, error))
            }
        }
        return rounds
    }

    private static func insert(_ orders: [Order], _ connection: PostgresConnection) throws {
        try connection.query("""
            INSERT INTO trade_order (id, user_id, side, price_micros, status, idempotency_key, submitted_at)
            SELECT id, user_id, side, price_micros, 'pending', idempotency_key, submitted_at
            FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[])
                AS o(id, user_id, side, price_micros, idempotency_key, submitted_at)
            """, [orders.map(\.id), orders.map(\.userID), orders.map(\.side.rawValue), orders.map(\.price.micros),
                  orders.map(\.idempotencyKey), orders.map(\.submittedAt)])
    }

    private static func withdraw(_ orders: [(id: Int64, reason: String, time: Date)], _ connection: PostgresConnection) throws {
        try connection.query("""
            UPDATE trade_order SET status = 'withdrawn', reason = w.reason, executed_at = w.at
            FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS w(id, reason, at)
            WHERE trade_order.id = w.id AND trade_order.id = ANY($1::bigint[])
            """, [orders.map(\.id), orders.map(\.reason), orders.map(\.time)])
    }

    /// Stores the batches as sent and their orders as theirs, in one statement (the foreign key
    /// from the orders to their batch is checked at its end, when the batches are in). A batch is
    /// executed only if the history holds every one of its orders: otherwise this throws, and the
    /// transaction writes nothing. No order is in two of these batches (see `rounds`), so the
    /// count of orders assigned is each batch's own count, added up.
    private static func send(_ batches: [(batch: Int64, orders: [Int64], time: Date)], _ connection: PostgresConnection) throws {
        let orders = batches.flatMap(\.orders)
        let assigned = try connection.query("""
            WITH sent AS (
                INSERT INTO batch (id, status, size, sent_at)
                SELECT id, 'sent', size, at FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS b(id, size, at)
            ), assigned AS (
                UPDATE trade_order SET batch_id = a.batch FROM unnest($4::bigint[], $5::bigint[]) AS a(id, batch)
                WHERE trade_order.id = a.id AND trade_order.id = ANY($4::bigint[])
                RETURNING 1
            )
            SELECT count(*) FROM assigned
            """, [batches.map(\.batch), batches.map { Int64($0.orders.count) }, batches.map(\.time),
                  orders, batches.flatMap { batch in batch.orders.map { _ in batch.batch } }]).scalar(Int.self)
        guard assigned == orders.count else {
            let names = batches.map { String($0.batch) }.joined(separator: ", ")
            throw PostgresError(.statement, sqlState: "23503",
                                message: "batch \(names): some of its orders are not in the history")
        }
    }

    private static func decide(_ batches: [(batch: Int64, outcomes: [(id: Int64, status: OrderStatus, reason: String?)], time: Date, error: String?)],
                               _ connection: PostgresConnection) throws {
        let outcomes = batches.flatMap { batch in batch.outcomes.map { (outcome: $0, time: batch.time) } }
        try connection.query("""
            WITH decided AS (
                UPDATE batch SET status = d.status, decided_at = d.at, error = d.error
                FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[]) AS d(id, status, at, error)
                WHERE batch.id = d.id AND batch.id = ANY($1::bigint[])
            )
            UPDATE trade_order SET status = o.status, reason = o.reason, executed_at = o.at
            FROM unnest($5::bigint[], $6::text[], $7::text[], $8::timestamptz[]) AS o(id, status, reason, at)
            WHERE trade_order.id = o.id AND trade_order.id = ANY($5::bigint[])
            """, [batches.map(\.batch), batches.map { $0.error == nil ? "decided" : "failed" }, batches.map(\.time), batches.map(\.error),
                  outcomes.map(\.outcome.id), outcomes.map(\.outcome.status.rawValue), outcomes.map(\.outcome.reason), outcomes.map(\.time)])
    }
}
