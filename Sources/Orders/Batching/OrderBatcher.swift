import DequeModule
import Foundation
import Locking
import Logging
import ProcessSupport
import Storage

/// Holds orders until `batchSize` are pending, executes them in one call, and answers each order's
/// waiting clients with its own outcome.
///
/// Every decision is made under one lock; answers, journal writes and execution calls happen after
/// it is released. Each batch executes in a task of its own, so batches overlap and new ones form
/// while others execute. An order stays in memory until its final state is written, so that a read
/// never falls between memory and the database.
///
/// No client hears an outcome before it is on disk: a decided batch's clients are answered when the
/// journal has written its outcome. While the history cannot be written they stay held, up to
/// `OrdersConfiguration.outcomeDurabilityTimeout`; then they get 503 with the order id
/// (`Ending.outcomeNotRecorded`), and read the outcome later with `GET /api/orders/{id}`. Until the
/// outcome is written, reads show the order as the history holds it: `pending`, in its batch.
///
/// Deadlines (ORDER_TIMEOUT, BATCH_LINGER, the durability bound) are on `ContinuousClock`, so that
/// a change of the wall clock neither withdraws orders early nor holds them longer; the times
/// stored with an order are wall-clock labels.
///
/// Its parts, a file each: the state machine (`OrderBatcher+State`), execution with its timeout
/// (`+Execution`), the timer thread (`+Timer`) and shutdown (`+Shutdown`). `OrderGateway` is the
/// module's API in front of it.
final class OrderBatcher: Sendable {
    typealias Ending = OrderGateway.Ending
    typealias Answer = OrderGateway.Answer
    typealias Submission = OrderGateway.Submission
    typealias Counters = OrderGateway.Counters

    let configuration: OrdersConfiguration
    let execution: any ExecutionSdk
    let journal: OrderJournal
    let history: any OrderStore
    let logger: Logger
    /// Every decision is made under this lock. Its condition wakes a shutdown waiting for the last
    /// batch to be answered (see `OrderBatcher+Shutdown.swift`).
    let state: LockedCondition<State>
    /// Withdraws orders past ORDER_TIMEOUT, sends lingering batches, expires unrecorded outcomes.
    let timer = WorkerThread(name: "order-timer")

    /// Ready after `OrderStore.recover`, so that ids continue from the history; `start` starts its threads.
    init(configuration: OrdersConfiguration, execution: any ExecutionSdk, journal: OrderJournal,
         history: any OrderStore, firstOrderID: Int64, firstBatchID: Int64, logger: Logger) {
        self.configuration = configuration
        self.execution = execution
        self.journal = journal
        self.history = history
        self.logger = logger
        state = LockedCondition(State(nextOrderID: firstOrderID, nextBatchID: firstBatchID))
    }

    /// Starts the journal's writer and the timer.
    func start() {
        journal.onFaultChange { [state] in
            state.withLock { $0.faultChanges += 1 }
            state.broadcast()
        }
        journal.start()
        timer.start { [self] in expireDue() }
    }

    var counters: Counters { state.withLock { $0.counters } }

    /// Why the order history cannot be written right now, if it cannot; no order is taken meanwhile.
    var historyFault: StorageFault? { journal.fault }

    // MARK: Submitting

    /// Adds an order, or attaches an idempotent retry to the order its key names.
    func submit(userID: Int64, side: OrderSide, price: Price, key: String?, answer: @escaping Answer) throws -> Submission {
        if let key {
            if let found = state.withLock({ attach(userID, key, side, price, answer, &$0) }) { return found }
            // Not live: look in the history (outside the lock), then check again under it.
            let since = Date().addingTimeInterval(-configuration.idempotencyWindow.seconds)
            if let stored = try history.order(userID: userID, key: key, since: since) {
                return stored.side == side && stored.price == price ? .final(stored) : .keyReused(orderID: stored.id)
            }
        }
        // An order the history cannot record is not taken: it could not be explained after a crash.
        if let fault = journal.fault { throw fault }
        var dispatches: [Batch] = []
        var newHead = false
        let submission = state.withLock { state -> Submission in
            if let key, let found = attach(userID, key, side, price, answer, &state) { return found }
            if state.stopping { return .refused }
            let id = state.nextOrderID
            state.nextOrderID += 1
            let order = Order(id: id, userID: userID, side: side, price: price, status: .pending, reason: nil, batch: nil,
                              idempotencyKey: key, submittedAt: .nowToTheMillisecond, executedAt: nil)
            let waiter = state.nextWaiter
            state.nextWaiter += 1
            state.live[id] = LiveOrder(order: order, waiters: [waiter: answer], inBatch: false, received: .now)
            if let key { state.keys[KeyRef(userID: userID, key: key)] = id }
            state.queue.append(id)
            state.counters.pending += 1
            newHead = state.counters.pending == 1
            journal.record(.received(order))
            if state.counters.pending >= configuration.batchSize {
                dispatches.append(formBatch(&state))
            }
            return .waiting(orderID: id, waiter: waiter)
        }
        if newHead { timer.wake() }
        dispatches.forEach(dispatch)
        return submission
    }

    /// An idempotent retry of a live order: the same body waits for the same outcome.
    func attach(_ userID: Int64, _ key: String, _ side: OrderSide, _ price: Price, _ answer: @escaping Answer,
                        _ state: inout State) -> Submission? {
        guard let id = state.keys[KeyRef(userID: userID, key: key)], var live = state.live[id] else { return nil }
        guard live.order.side == side, live.order.price == price else { return .keyReused(orderID: id) }
        if live.order.status.isFinal { return .final(live.order) }
        if live.decided != nil, let deadline = live.outcomeDeadline, deadline <= .now {
            return .outcomeNotRecorded(notRecorded(live.order, because: "it could not be recorded within OUTCOME_DURABILITY_TIMEOUT (\(configuration.outcomeDurabilityTimeout.seconds) s)"))
        }
        let waiter = state.nextWaiter
        state.nextWaiter += 1
        live.waiters[waiter] = answer
        state.live[id] = live
        return .waiting(orderID: id, waiter: waiter)
    }

    /// A waiting client went away. An order nobody waits for any more is withdrawn if it has not
    /// been sent; once sent, its outcome stands.
    func clientGone(orderID: Int64, waiter: UInt64) {
        state.withLock { state in
            guard var live = state.live[orderID] else { return }
            live.waiters[waiter] = nil
            state.live[orderID] = live
            if live.waiters.isEmpty && !live.inBatch && !live.order.status.isFinal {
                _ = withdraw(orderID, reason: "the client disconnected before the order was sent", &state)
            }
        }
        // A decided order whose last client left no longer holds up a drain.
        state.broadcast()
    }

    /// The order, live or stored, if it belongs to `userID`.
    func order(id: Int64, userID: Int64) throws -> Order? {
        let found = try state.withLock({ $0.live[id]?.order }) ?? history.order(id: id)
        return found?.userID == userID ? found : nil
    }

    /// The user's newest orders, live ones included.
    func orders(userID: Int64, limit: Int) throws -> [Order] {
        let live = state.withLock { $0.live.values.map(\.order).filter { $0.userID == userID } }
        var byID = Dictionary(try history.orders(userID: userID, limit: limit).map { ($0.id, $0) }) { a, _ in a }
        for order in live { byID[order.id] = order }
        return byID.values.sorted { $0.id > $1.id }.prefix(limit).map { $0 }
    }

    /// Orders and idempotency keys held in memory (for tests: both stay bounded by the live orders).
    var kept: (orders: Int, keys: Int) { state.withLock { ($0.live.count, $0.keys.count) } }
}
