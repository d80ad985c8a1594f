import Foundation
import Postgres

/// The journal's writes: many events to a call, at thousands of orders a second, where what a
/// write costs is its round trips to the server more than the server's work (on a busy machine,
/// each one also waits for the server's process to be scheduled).
///
/// So a write is not a statement per event: it is one statement, over arrays of values that the
/// server `unnest`s, with a part for each kind of event (orders received, withdrawn, batches
/// sent, decided). The parts of one statement cannot see each other's changes, so an event that
/// touches an order or a batch that an earlier event of the call touched goes into a second
/// statement (a second round), and so on; the events of one round touch each row once, in any
/// order, and the result is what writing them one by one would leave. In the usual write (the
/// orders received since the last one, a batch sent and an earlier one decided) there is one
/// round: one statement, committed on its own, one round trip. Several rounds run in one
/// transaction.
///
/// The statement is planned at each write for its arrays (`Planning.eachRun`), and each part
/// names its rows with `id = ANY($n)`, so that the plan finds them by the primary key. A prepared
/// statement's generic plan, made while the table was young, settled on scanning the whole table,
/// comparing every row with every id, and the journal's rate fell as the table grew.
extension PostgresOrderStore {
    public func write(_ events: [OrderEvent]) throws {
        guard !events.isEmpty else { return }
        let rounds = Self.rounds(events)
        if rounds.count == 1 {
            try database.withConnection { try Self.write(rounds[0], $0) }
        } else {
            try database.transaction { connection in
                for round in rounds { try Self.write(round, connection) }
            }
        }
    }

    /// Events that touch each order and each batch at most once: one statement.
    private struct Round {
        var received: [Order] = []
        var withdrawn: [(id: Int64, reason: String, time: Date)] = []
        var sent: [(batch: Int64, orders: [Int64], time: Date)] = []
        var decided: [(batch: Int64, outcomes: [(id: Int64, status: OrderStatus, reason: String?)], time: Date, error: String?)] = []
    }

    /// Each event goes into the round after the last one that touched any of its rows.
    private static func rounds(_ events: [OrderEvent]) -> [Round] {
        var rounds: [Round] = []
        var orderRound: [Int64: Int] = [:]
        var batchRound: [Int64: Int] = [:]
        for event in events {
            let orders: [Int64], batch: Int64?
            switch event {
            case .received(let order): (orders, batch) = ([order.id], nil)
            case .withdrawn(let id, _, _): (orders, batch) = ([id], nil)
            case .sent(let id, let ids, _): (orders, batch) = (ids, id)
            case .decided(let id, let outcomes, _, _): (orders, batch) = (outcomes.map(\.id), id)
            }
            var round = batch.flatMap { batchRound[$0] }.map { $0 + 1 } ?? 0
            for id in orders { if let last = orderRound[id] { round = max(round, last + 1) } }
            for id in orders { orderRound[id] = round }
            if let batch { batchRound[batch] = round }

            while rounds.count <= round { rounds.append(Round()) }
            switch event {
            case .received(let order): rounds[round].received.append(order)
            case .withdrawn(let id, let reason, let time): rounds[round].withdrawn.append((id, reason, time))
            case .sent(let batch, let ids, let time): rounds[round].sent.append((batch, ids, time))
            case .decided(let batch, let outcomes, let time, let error): rounds[round].decided.append((batch, outcomes, time, error))
            }
        }
        return rounds
    }

    /// One round, in one statement. A batch is executed only if the history holds every one of
    /// its orders: the statement counts the orders it assigned to the round's batches (each order
    /// is in one of them, so the count adds up each batch's own), and when some are missing it
    /// fails through `orders_batch_incomplete`, which rolls back the transaction.
    private static func write(_ round: Round, _ connection: PostgresConnection) throws {
        let received = round.received, withdrawn = round.withdrawn, sent = round.sent
        let outcomes = round.decided.flatMap { batch in batch.outcomes.map { (outcome: $0, time: batch.time) } }
        let assigned = sent.flatMap(\.orders)
        try connection.query("""
            WITH received AS (
                INSERT INTO trade_order (id, user_id, side, price_micros, status, idempotency_key, submitted_at)
                SELECT id, user_id, side, price_micros, 'pending', idempotency_key, submitted_at
                FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[])
                    AS r(id, user_id, side, price_micros, idempotency_key, submitted_at)
            ), withdrawn AS (
                UPDATE trade_order SET status = 'withdrawn', reason = w.reason, executed_at = w.at
                FROM unnest($7::bigint[], $8::text[], $9::timestamptz[]) AS w(id, reason, at)
                WHERE trade_order.id = w.id AND trade_order.id = ANY($7::bigint[])
            ), sent AS (
                INSERT INTO batch (id, status, size, sent_at)
                SELECT id, 'sent', size, at FROM unnest($10::bigint[], $11::bigint[], $12::timestamptz[]) AS s(id, size, at)
            ), assigned AS (
                UPDATE trade_order SET batch_id = a.batch
                FROM unnest($13::bigint[], $14::bigint[]) AS a(id, batch)
                WHERE trade_order.id = a.id AND trade_order.id = ANY($13::bigint[])
                RETURNING 1
            ), decided AS (
                UPDATE batch SET status = d.status, decided_at = d.at, error = d.error
                FROM unnest($15::bigint[], $16::text[], $17::timestamptz[], $18::text[]) AS d(id, status, at, error)
                WHERE batch.id = d.id AND batch.id = ANY($15::bigint[])
            ), outcomes AS (
                UPDATE trade_order SET status = o.status, reason = o.reason, executed_at = o.at
                FROM unnest($19::bigint[], $20::text[], $21::text[], $22::timestamptz[]) AS o(id, status, reason, at)
                WHERE trade_order.id = o.id AND trade_order.id = ANY($19::bigint[])
            )
            SELECT CASE WHEN count(*) = $23::bigint THEN count(*) ELSE orders_batch_incomplete($24::text) END FROM assigned
            """, [
                received.map(\.id), received.map(\.userID), received.map(\.side.rawValue), received.map(\.price.micros),
                received.map(\.idempotencyKey), received.map(\.submittedAt),
                withdrawn.map(\.id), withdrawn.map(\.reason), withdrawn.map(\.time),
                sent.map(\.batch), sent.map { Int64($0.orders.count) }, sent.map(\.time),
                assigned, sent.flatMap { batch in batch.orders.map { _ in batch.batch } },
                round.decided.map(\.batch), round.decided.map { $0.error == nil ? "decided" : "failed" },
                round.decided.map(\.time), round.decided.map(\.error),
                outcomes.map(\.outcome.id), outcomes.map(\.outcome.status.rawValue), outcomes.map(\.outcome.reason), outcomes.map(\.time),
                assigned.count, sent.map { String($0.batch) }.joined(separator: ", "),
            ], planning: .eachRun)
    }
}
