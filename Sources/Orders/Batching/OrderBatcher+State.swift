import DequeModule
import Foundation
import Locking
import Logging
import ProcessSupport
import Storage

/// The state machine: what the batcher knows of each live order, and the transitions every caller
/// makes under the one lock (forming a batch, withdrawing, expiring outcomes, forgetting).
extension OrderBatcher {
    struct LiveOrder {
        /// As the history holds it (or will, once the journal writes what it was given): what reads
        /// show and what clients are told.
        var order: Order
        var waiters: [UInt64: Answer]
        var inBatch: Bool
        /// When it arrived, for ORDER_TIMEOUT and BATCH_LINGER.
        let received: ContinuousClock.Instant
        /// The outcome once decided, told only when the journal has written it.
        var decided: (order: Order, ending: Ending)?
        /// Past this, its clients are told that the outcome is not recorded yet.
        var outcomeDeadline: ContinuousClock.Instant?
    }

    /// A decided batch whose outcome is being written.
    struct OutcomeDeadline {
        let at: ContinuousClock.Instant
        let orderIDs: [Int64]
    }

    struct KeyRef: Hashable {
        let userID: Int64?
        let key: String
    }

    struct State {
        var live: [Int64: LiveOrder] = [:]
        var keys: [KeyRef: Int64] = [:]
        /// Pending order ids in arrival order; ids no longer pending are skipped.
        var queue: Deque<Int64> = []
        /// Decided batches in the order they were decided (so deadlines ascend); entries whose
        /// outcome was written meanwhile are skipped.
        var outcomeDeadlines: Deque<OutcomeDeadline> = []
        /// Batches sent and not yet decided.
        var executing = 0
        /// Tasks (or the journal's thread) answering clients right now: shutdown waits for them.
        var answering = 0
        var nextOrderID: Int64
        var nextBatchID: Int64
        var nextWaiter: UInt64 = 1
        var stopping = false
        /// How often the journal's fault changed: a drain waits for this too (see `drain(before:)`).
        var faultChanges = 0
        var counters = Counters()
    }

    struct Batch: Sendable {
        let id: Int64
        let orders: [ExecutionOrder]
    }


    // MARK: Batches

    /// Takes up to `batchSize` pending orders, oldest first.
    func formBatch(_ state: inout State) -> Batch {
        let id = state.nextBatchID
        state.nextBatchID += 1
        var orders: [ExecutionOrder] = []
        while orders.count < configuration.batchSize, let orderID = state.queue.popFirst() {
            guard var live = state.live[orderID], !live.inBatch, !live.order.status.isFinal else { continue }
            live.inBatch = true
            live.order.batch = id
            state.live[orderID] = live
            orders.append(ExecutionOrder(orderID: orderID, side: live.order.side, price: live.order.price))
        }
        state.counters.pending -= orders.count
        state.counters.batchesInFlight += 1
        state.executing += 1
        return Batch(id: id, orders: orders)
    }

    /// The order as stored, with a reason that says its outcome is decided but not recorded yet,
    /// and where to read it later. The outcome itself is not in it.
    func notRecorded(_ order: Order, because cause: String) -> Order {
        var order = order
        order.reason = "order \(order.id) was executed, but its outcome is not recorded yet (\(cause)); "
            + "it is not told before it is on disk: read it later with GET /api/orders/\(order.id)"
        return order
    }

    /// Answers the clients of decided batches whose outcome is still not written by `now` (all of
    /// them with `now` nil: shutdown), 503 with the id. Their orders stay in memory until written.
    func expireOutcomes(before now: ContinuousClock.Instant?, cause: String, _ state: inout State) -> [(Order, [Answer])] {
        var expired: [(Order, [Answer])] = []
        while let entry = state.outcomeDeadlines.first {
            if let now, entry.at > now { break }
            state.outcomeDeadlines.removeFirst()
            for id in entry.orderIDs {
                guard var live = state.live[id], live.decided != nil, !live.waiters.isEmpty else { continue }
                expired.append((notRecorded(live.order, because: cause), Array(live.waiters.values)))
                live.waiters = [:]
                state.live[id] = live
            }
        }
        return expired
    }

    // MARK: Withdrawing, timeouts, linger

    /// Withdraws a pending order; returns it with its waiters, who have not been answered.
    func withdraw(_ id: Int64, reason: String, _ state: inout State) -> (Order, [Answer])? {
        guard var live = state.live[id], !live.inBatch, !live.order.status.isFinal else { return nil }
        live.order.status = .withdrawn
        live.order.reason = reason
        live.order.executedAt = .nowToTheMillisecond
        let waiters = Array(live.waiters.values)
        live.waiters = [:]
        state.live[id] = live
        state.counters.pending -= 1
        state.counters.withdrawn += 1
        journal.record(.withdrawn(id: id, reason: reason, at: live.order.executedAt!)) { [self] _ in forget([id]) }
        return (live.order, waiters)
    }

    /// Forgets orders whose final state is written.
    func forget(_ ids: [Int64]) {
        state.withLock { state in
            for id in ids {
                guard let live = state.live.removeValue(forKey: id) else { continue }
                forgetKey(of: live.order, &state)
            }
        }
    }

    /// An order's key is kept in memory only while the order is: the history holds it for the
    /// 24 h window (`OrderStore.order(userID:key:since:)`), so this map never outgrows `live`.
    func forgetKey(of order: Order, _ state: inout State) {
        guard let key = order.idempotencyKey else { return }
        let ref = KeyRef(userID: order.userID, key: key)
        if state.keys[ref] == order.id { state.keys[ref] = nil }
    }

    /// Orders and idempotency keys held in memory (for tests: both stay bounded by the live orders).

    func oldestPending(_ state: inout State) -> (Order, ContinuousClock.Instant)? {
        while let id = state.queue.first {
            if let live = state.live[id], !live.inBatch, !live.order.status.isFinal { return (live.order, live.received) }
            state.queue.removeFirst()
        }
        return nil
    }

}
