import Foundation
import GRDB
import Locking
import Logging
import ProcessSupport

/// Writes the order history on one thread of its own, many events to a transaction, so that no
/// request waits for a database round-trip of its own.
///
/// Events are written in the order they were recorded. `commit` waits until its event is durable:
/// a batch is committed as sent before it is executed, so a crash can always be reconciled.
final class OrderJournal: Sendable {
    enum Event: Sendable {
        case received(Order)
        case withdrawn(id: Int64, reason: String, at: Date)
        case sent(batch: Int64, orders: [Int64], at: Date)
        case decided(batch: Int64, outcomes: [(id: Int64, status: OrderStatus, reason: String?)], at: Date, error: String?)
    }

    private struct Entry {
        let event: Event
        let done: (@Sendable (Error?) -> Void)?
    }

    private let database: DatabasePool
    private let logger: Logger
    private let queue = Locked<(entries: [Entry], stopping: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)
    private let writer: ThreadPool

    init(database: DatabasePool, logger: Logger) {
        self.database = database
        self.logger = logger
        writer = ThreadPool(name: "order-journal", threads: 1)
        writer.submit { [self] in run() }
    }

    /// Records `event`; `done` is called once it is written (or could not be).
    func record(_ event: Event, done: (@Sendable (Error?) -> Void)? = nil) {
        queue.withLock { $0.entries.append(Entry(event: event, done: done)) }
        wake.signal()
    }

    /// Records `event` and waits until it is durable.
    func commit(_ event: Event) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            record(event) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    /// Writes what is queued and stops the writer thread.
    func finish() {
        queue.withLock { $0.stopping = true }
        wake.signal()
        writer.finish()
    }

    private func run() {
        while true {
            wake.wait()
            let (entries, stopping) = queue.withLock { queue in
                defer { queue.entries = [] }
                return (queue.entries, queue.stopping)
            }
            if !entries.isEmpty { write(entries) }
            if stopping { return }
        }
    }

    private func write(_ entries: [Entry]) {
        do {
            try database.write { db in
                for entry in entries { try apply(entry.event, db) }
            }
            for entry in entries { entry.done?(nil) }
        } catch {
            // Written one by one, so that one bad event does not lose the others.
            logger.error("order history write failed; retrying event by event", metadata: ["error": "\(error)"])
            for entry in entries {
                do {
                    try database.write { try apply(entry.event, $0) }
                    entry.done?(nil)
                } catch {
                    logger.error("order history event lost", metadata: ["event": "\(entry.event)", "error": "\(error)"])
                    entry.done?(error)
                }
            }
        }
    }

    /// Statements are prepared once per connection (`cachedStatement`), and a batch's orders are
    /// updated by one statement over a JSON array of ids: at thousands of orders a second, parsing
    /// SQL and a statement per order were most of this thread's work.
    private func apply(_ event: Event, _ db: Database) throws {
        switch event {
        case .received(let order):
            try db.cachedStatement(sql: """
                INSERT INTO trade_order (id, user_id, side, price_micros, status, idempotency_key, submitted_at)
                VALUES (?, ?, ?, ?, 'pending', ?, ?)
                """).execute(arguments: [order.id, order.userID, order.side.rawValue, order.price.micros, order.idempotencyKey, order.submittedAt])
        case .withdrawn(let id, let reason, let time):
            try db.cachedStatement(sql: "UPDATE trade_order SET status = 'withdrawn', reason = ?, executed_at = ? WHERE id = ?")
                .execute(arguments: [reason, time, id])
        case .sent(let batch, let orders, let time):
            try db.cachedStatement(sql: "INSERT INTO batch (id, status, size, sent_at) VALUES (?, 'sent', ?, ?)")
                .execute(arguments: [batch, orders.count, time])
            try db.cachedStatement(sql: "UPDATE trade_order SET batch_id = ? WHERE id IN (SELECT value FROM json_each(?))")
                .execute(arguments: [batch, Self.jsonArray(orders)])
        case .decided(let batch, let outcomes, let time, let error):
            try db.cachedStatement(sql: "UPDATE batch SET status = ?, decided_at = ?, error = ? WHERE id = ?")
                .execute(arguments: [error == nil ? "decided" : "failed", time, error, batch])
            // Outcomes sharing a status and reason (usually all of them) are one statement.
            let groups = Dictionary(grouping: outcomes) { OutcomeGroup(status: $0.status, reason: $0.reason) }
            for (group, members) in groups {
                try db.cachedStatement(sql: """
                    UPDATE trade_order SET status = ?, reason = ?, executed_at = ? WHERE id IN (SELECT value FROM json_each(?))
                    """).execute(arguments: [group.status.rawValue, group.reason, time, Self.jsonArray(members.map(\.id))])
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
}
