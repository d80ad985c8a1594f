import Foundation
import GRDB
import Locking
import Logging
import ProcessSupport
import Storage

/// Writes the order history on one thread of its own, many events to a transaction, so that no
/// request waits for a database round-trip of its own.
///
/// Events are written in the order they were recorded. `commit` waits until its event is durable:
/// a batch is committed as sent before it is executed, so a crash can always be reconciled.
///
/// When the disk is full or the file cannot be written (a `StorageFault`), recorded events are
/// kept, in order, and written once the fault clears; meanwhile `fault` says what is wrong, so
/// that no new order is taken and no batch is committed as sent. A recorded event's `durable`
/// callback runs only when the event is written, so that the batcher tells a client an outcome
/// only once it is on disk.
final class OrderJournal: Sendable {
    enum Event: Sendable {
        case received(Order)
        case withdrawn(id: Int64, reason: String, at: Date)
        case sent(batch: Int64, orders: [Int64], at: Date)
        case decided(batch: Int64, outcomes: [(id: Int64, status: OrderStatus, reason: String?)], at: Date, error: String?)
    }

    private struct Entry {
        let event: Event
        /// Called once: for a commit after the first attempt to write the event; for a recorded
        /// event when it is written (nil), lost (an error that is no storage fault), or still
        /// unwritten when the journal stops (the fault).
        var done: (@Sendable (Error?) -> Void)?
        /// Recorded events are kept through a storage fault; a commit fails at once instead.
        let keptThroughFaults: Bool
    }

    private struct Queue {
        var entries: [Entry] = []
        var stopping = false
        var fault: StorageFault?
    }

    /// How often events kept through a storage fault are tried again.
    static let retryInterval: Duration = .seconds(1)

    private let database: DatabasePool
    private let logger: Logger
    private let queue = Locked(Queue())
    private let writer = WorkerThread(name: "order-journal")
    /// Events kept through a storage fault, oldest first; only the writer thread touches them.
    private let kept = Locked<[Entry]>([])
    private let faultChanged = Locked<(@Sendable () -> Void)?>(nil)

    init(database: DatabasePool, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Starts the writer thread. Events recorded before wait for it.
    func start() {
        writer.start { [self] in writeQueued() }
    }

    /// The storage fault that keeps events unwritten, if any.
    var fault: StorageFault? { queue.withLock { $0.fault } }

    /// Records `event`; `durable` is called with nil once it is on disk, however many retries that
    /// takes, or with the error if it never will be (lost, or unwritten when the journal stops).
    func record(_ event: Event, durable: (@Sendable (Error?) -> Void)? = nil) {
        append(Entry(event: event, done: durable, keptThroughFaults: true))
    }

    /// Records `event` and waits until it is durable.
    func commit(_ event: Event) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            append(Entry(event: event, done: { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }, keptThroughFaults: false))
        }
    }

    private func append(_ entry: Entry) {
        queue.withLock { $0.entries.append(entry) }
        writer.wake()
    }

    /// Writes what is queued and joins the writer thread.
    func finish() {
        queue.withLock { $0.stopping = true }
        writer.wake()
        writer.join()
    }

    /// One pass of the writer: what is queued, after what a fault kept (retried every `retryInterval`).
    private func writeQueued() -> WorkerThread.Next {
        let (entries, stopping) = queue.withLock { queue in
            defer { queue.entries = [] }
            return (queue.entries, queue.stopping)
        }
        let pending = kept.withLock { $0 } + entries
        let previous = self.fault
        let (stillKept, fault): ([Entry], StorageFault?) = pending.isEmpty ? ([], nil) : write(pending)
        kept.withLock { $0 = stillKept }
        if let fault, previous == nil {
            logger.error("order history cannot be written; keeping its events until it can", metadata: ["error": "\(fault)"])
        } else if fault == nil, previous != nil {
            logger.notice("order history written again")
        }
        if stopping {
            if !stillKept.isEmpty {
                logger.error("order history events not written at shutdown", metadata: [
                    "events": "\(stillKept.count)", "error": "\(fault.map(String.init(describing:)) ?? "")",
                ])
                for entry in stillKept { entry.done?(fault ?? StorageFault.ioError) }
            }
            return .finished
        }
        return stillKept.isEmpty ? .whenWoken : .after(Self.retryInterval)
    }

    /// Writes `entries` in order; returns those kept for a retry and the fault that kept them.
    /// `fault` is published before any callback runs: a client told of a failure may submit again
    /// at once, and must then meet the fault, not a journal that seems well.
    private func write(_ entries: [Entry]) -> (kept: [Entry], fault: StorageFault?) {
        do {
            try database.write { db in
                for entry in entries { try apply(entry.event, db) }
            }
            publish(nil)
            for entry in entries { entry.done?(nil) }
            return ([], nil)
        } catch {
            // One by one, so that one bad event does not lose the others. After a storage fault
            // the rest wait their turn: a later event must not be written before an earlier one.
            // A kept event's callback waits until it is written; a commit fails at once.
            var kept: [Entry] = []
            var fault: StorageFault?
            for entry in entries {
                if let fault {
                    if entry.keptThroughFaults { kept.append(entry) } else { entry.done?(fault) }
                    continue
                }
                do {
                    try database.write { try apply(entry.event, $0) }
                    entry.done?(nil)
                } catch {
                    if let storageFault = StorageFault(error), entry.keptThroughFaults {
                        fault = storageFault
                        publish(storageFault)
                        kept.append(entry)
                    } else {
                        entry.done?(error)
                        if entry.keptThroughFaults {
                            logger.error("order history event lost", metadata: ["event": "\(entry.event)", "error": "\(error)"])
                        }
                    }
                }
            }
            if fault == nil { publish(nil) }
            return (kept, fault)
        }
    }

    private func publish(_ fault: StorageFault?) {
        let changed = queue.withLock { queue in
            defer { queue.fault = fault }
            return queue.fault != fault
        }
        if changed, let hook = faultChanged.withLock({ $0 }) { hook() }
    }

    /// `hook` runs on the writer thread each time `fault` changes: a shutdown waiting for outcomes
    /// to be written learns at once that they cannot be.
    func onFaultChange(_ hook: @escaping @Sendable () -> Void) {
        faultChanged.withLock { $0 = hook }
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
