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
public final class OrderBatcher: Sendable {
    /// How an order's wait ended.
    public enum Ending: Sendable, Equatable {
        /// Executed: approved or rejected.
        case executed
        /// The execution call failed or timed out (502).
        case failed
        /// Withdrawn after ORDER_TIMEOUT (504).
        case timedOut
        /// Withdrawn at shutdown (503).
        case shuttingDown
        /// The batch could not be recorded, so it was not sent (503).
        case notRecorded
        /// An idempotent retry of an order that had already ended.
        case alreadyFinal
        /// Executed (or failed), but the outcome could not be written within the durability bound,
        /// or before shutdown (503 with the id; the order's `reason` says so, and not the outcome).
        case outcomeNotRecorded
    }

    public typealias Answer = @Sendable (Order, Ending) -> Void

    public enum Submission: Sendable, Equatable {
        /// The answer will come when the order ends.
        case waiting(orderID: Int64, waiter: UInt64)
        /// The key names an order that has ended; here it is.
        case final(Order)
        /// The key was used for a different order.
        case keyReused(orderID: Int64)
        /// The key names an order whose outcome is decided but could not be recorded within the
        /// bound: answer as `Ending.outcomeNotRecorded` (the order as stored, with the reason).
        case outcomeNotRecorded(Order)
        /// The batcher is stopping.
        case refused
    }

    public struct Counters: Sendable, Equatable {
        public var pending = 0
        public var batchesInFlight = 0
        public var batchesExecuted = 0
        public var batchesFailed = 0
        public var withdrawn = 0
        /// Orders whose outcome is decided but not yet written; their clients are still held.
        public var outcomesNotRecorded = 0
    }

    private struct LiveOrder {
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
    private struct OutcomeDeadline {
        let at: ContinuousClock.Instant
        let orderIDs: [Int64]
    }

    private struct KeyRef: Hashable {
        let userID: Int64
        let key: String
    }

    private struct State {
        var live: [Int64: LiveOrder] = [:]
        var keys: [KeyRef: Int64] = [:]
        /// Pending order ids in arrival order; ids no longer pending are skipped.
        var queue: Deque<Int64> = []
        /// Decided batches in the order they were decided (so deadlines ascend); entries whose
        /// outcome was written meanwhile are skipped.
        var outcomeDeadlines: Deque<OutcomeDeadline> = []
        /// Batches sent and not yet decided.
        var executing = 0
        /// Tasks answering clients right now: shutdown waits for them.
        var answering = 0
        var nextOrderID: Int64
        var nextBatchID: Int64
        var nextWaiter: UInt64 = 1
        var stopping = false
        var counters = Counters()
    }

    private struct Batch: Sendable {
        let id: Int64
        let orders: [ExecutionOrder]
    }

    public let configuration: OrdersConfiguration
    public let execution: any ExecutionSdk
    private let journal: OrderJournal
    private let history: OrderHistory
    private let logger: Logger
    private let state: Locked<State>
    private let timerWake = DispatchSemaphore(value: 0)
    private let timer: ThreadPool

    /// Starts after `OrdersSchema.recover`, so that ids continue from the history.
    init(configuration: OrdersConfiguration, execution: any ExecutionSdk, journal: OrderJournal,
         history: OrderHistory, firstOrderID: Int64, firstBatchID: Int64, logger: Logger) {
        self.configuration = configuration
        self.execution = execution
        self.journal = journal
        self.history = history
        self.logger = logger
        state = Locked(State(nextOrderID: firstOrderID, nextBatchID: firstBatchID))
        timer = ThreadPool(name: "order-timer", threads: 1)
        timer.submit { [self] in runTimer() }
    }

    public var counters: Counters { state.withLock { $0.counters } }

    /// Why the order history cannot be written right now, if it cannot; no order is taken meanwhile.
    public var historyFault: StorageFault? { journal.fault }

    // MARK: Submitting

    /// Adds an order, or attaches an idempotent retry to the order its key names.
    public func submit(userID: Int64, side: OrderSide, price: Price, key: String?, answer: @escaping Answer) throws -> Submission {
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
        if newHead { timerWake.signal() }
        dispatches.forEach(dispatch)
        return submission
    }

    /// An idempotent retry of a live order: the same body waits for the same outcome.
    private func attach(_ userID: Int64, _ key: String, _ side: OrderSide, _ price: Price, _ answer: @escaping Answer,
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
    public func clientGone(orderID: Int64, waiter: UInt64) {
        state.withLock { state in
            guard var live = state.live[orderID] else { return }
            live.waiters[waiter] = nil
            state.live[orderID] = live
            if live.waiters.isEmpty && !live.inBatch && !live.order.status.isFinal {
                _ = withdraw(orderID, reason: "the client disconnected before the order was sent", &state)
            }
        }
    }

    /// The order, live or stored, if it belongs to `userID`.
    public func order(id: Int64, userID: Int64) throws -> Order? {
        let found = try state.withLock({ $0.live[id]?.order }) ?? history.order(id: id)
        return found?.userID == userID ? found : nil
    }

    /// The user's newest orders, live ones included.
    public func orders(userID: Int64, limit: Int) throws -> [Order] {
        let live = state.withLock { $0.live.values.map(\.order).filter { $0.userID == userID } }
        var byID = Dictionary(try history.orders(userID: userID, limit: limit).map { ($0.id, $0) }) { a, _ in a }
        for order in live { byID[order.id] = order }
        return byID.values.sorted { $0.id > $1.id }.prefix(limit).map { $0 }
    }

    // MARK: Batches

    /// Takes up to `batchSize` pending orders, oldest first.
    private func formBatch(_ state: inout State) -> Batch {
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

    private func dispatch(_ batch: Batch) {
        Task { await execute(batch) }
    }

    private func execute(_ batch: Batch) async {
        let ids = batch.orders.map(\.orderID)
        do {
            try await journal.commit(.sent(batch: batch.id, orders: ids, at: Date()))
        } catch {
            logger.error("batch not sent: its record could not be written", metadata: ["batch": "\(batch.id)", "error": "\(error)"])
            let cause = StorageFault(error).map(String.init(describing:)) ?? "the order history could not be written"
            finish(batch, outcomes: [:], error: "not sent: \(cause); retry later", ending: .notRecorded)
            return
        }
        let started = ContinuousClock.now
        do {
            let outcomes = try await withTimeout(configuration.executionTimeout) { [execution] in
                try await execution.execute(batch.orders)
            }
            logger.info("batch executed", metadata: [
                "batch": "\(batch.id)", "orders": "\(batch.orders.count)", "server": "\(execution.name)",
                "ms": "\((ContinuousClock.now - started) / .milliseconds(1))",
            ])
            finish(batch, outcomes: match(outcomes, to: ids, batch: batch.id), error: nil, ending: .executed)
        } catch {
            logger.warning("batch failed", metadata: ["batch": "\(batch.id)", "server": "\(execution.name)", "error": "\(error)"])
            finish(batch, outcomes: [:], error: "execution failed: \(error)", ending: .failed)
        }
    }

    /// Outcomes by order id. An order with no outcome, or more than one, is failed.
    private func match(_ outcomes: [ExecutionOutcome], to ids: [Int64], batch: Int64) -> [Int64: ExecutionOutcome.Decision] {
        var decisions: [Int64: ExecutionOutcome.Decision] = [:]
        var duplicated: Set<Int64> = []
        let expected = Set(ids)
        for outcome in outcomes {
            guard expected.contains(outcome.orderID) else {
                logger.warning("outcome for an order not in the batch", metadata: ["batch": "\(batch)", "order": "\(outcome.orderID)"])
                continue
            }
            if decisions[outcome.orderID] != nil { duplicated.insert(outcome.orderID) }
            decisions[outcome.orderID] = outcome.decision
        }
        for id in duplicated { decisions[id] = nil }
        return decisions
    }

    /// Records the batch's end; its clients are answered once that record is on disk
    /// (`outcomeRecorded`), or told after the durability bound that it is not yet. The batch counts
    /// as in flight until then, so that shutdown waits for the answers, not only the outcome.
    ///
    /// A batch that was not sent (`.notRecorded`) is answered at once: it was never executed, and a
    /// crash before its record is written leaves its orders withdrawn, which says the same.
    private func finish(_ batch: Batch, outcomes: [Int64: ExecutionOutcome.Decision], error: String?, ending: Ending) {
        let now = Date.nowToTheMillisecond
        let waitsForDisk = ending != .notRecorded
        var firstDeadline = false
        let (told, decided) = state.withLock { state -> ([(Order, [Answer])], [Order]) in
            var told: [(Order, [Answer])] = []
            var decided: [Order] = []
            let deadline = ContinuousClock.now + configuration.outcomeDurabilityTimeout
            for executionOrder in batch.orders {
                guard var live = state.live[executionOrder.orderID] else { continue }
                var order = live.order
                switch outcomes[executionOrder.orderID] {
                case .approved?: order.status = .approved
                case .rejected?: order.status = .rejected
                case nil:
                    order.status = .failed
                    order.reason = error ?? "the execution server returned no single outcome for this order"
                }
                order.executedAt = now
                decided.append(order)
                if waitsForDisk {
                    live.decided = (order, order.status == .failed && ending == .executed ? .failed : ending)
                    live.outcomeDeadline = deadline
                } else {
                    live.order = order
                    told.append((order, Array(live.waiters.values)))
                    live.waiters = [:]
                }
                state.live[executionOrder.orderID] = live
            }
            state.executing -= 1
            if waitsForDisk {
                firstDeadline = state.outcomeDeadlines.isEmpty
                state.outcomeDeadlines.append(OutcomeDeadline(at: deadline, orderIDs: decided.map(\.id)))
                state.counters.outcomesNotRecorded += decided.count
            } else {
                state.counters.batchesInFlight -= 1
                state.counters.batchesFailed += 1
                if !told.isEmpty { state.answering += 1 }
            }
            return (told, decided)
        }
        if firstDeadline { timerWake.signal() }
        let ids = decided.map(\.id)
        journal.record(.decided(batch: batch.id, outcomes: decided.map { ($0.id, $0.status, $0.reason) }, at: now,
                                error: error)) { [self] writeError in
            if let writeError {
                logger.error("batch outcome not recorded", metadata: ["batch": "\(batch.id)", "error": "\(writeError)"])
            }
            if waitsForDisk { outcomeRecorded(batch.id, ids, ending: ending, error: writeError) } else { forget(ids) }
        }
        // Off the caller's thread: answering writes to sockets.
        if !told.isEmpty {
            Task {
                for (order, answers) in told { answers.forEach { $0(order, ending) } }
                state.withLock { $0.answering -= 1 }
            }
        }
    }

    /// The journal has written a batch's outcome (or never will: `error`): its orders leave memory
    /// and their clients hear the outcome (or that it is not recorded).
    private func outcomeRecorded(_ batchID: Int64, _ ids: [Int64], ending: Ending, error: Error?) {
        let cause = error.map { StorageFault($0).map(String.init(describing:)) ?? "the order history could not be written" }
        let answers = state.withLock { state -> [(Order, Ending, [Answer])] in
            var answers: [(Order, Ending, [Answer])] = []
            for id in ids {
                guard let live = state.live.removeValue(forKey: id), let decided = live.decided else { continue }
                forgetKey(of: live.order, &state)
                state.counters.outcomesNotRecorded -= 1
                if live.waiters.isEmpty { continue }
                if let cause {
                    answers.append((notRecorded(live.order, because: cause), .outcomeNotRecorded, Array(live.waiters.values)))
                } else {
                    answers.append((decided.order, decided.ending, Array(live.waiters.values)))
                }
            }
            state.counters.batchesInFlight -= 1
            if ending == .executed { state.counters.batchesExecuted += 1 } else { state.counters.batchesFailed += 1 }
            if !answers.isEmpty { state.answering += 1 }
            return answers
        }
        // Off the journal's thread: it only writes.
        if !answers.isEmpty {
            Task {
                for (order, ending, waiters) in answers { waiters.forEach { $0(order, ending) } }
                state.withLock { $0.answering -= 1 }
            }
        }
    }

    /// The order as stored, with a reason that says its outcome is decided but not recorded yet,
    /// and where to read it later. The outcome itself is not in it.
    private func notRecorded(_ order: Order, because cause: String) -> Order {
        var order = order
        order.reason = "order \(order.id) was executed, but its outcome is not recorded yet (\(cause)); "
            + "it is not told before it is on disk: read it later with GET /api/orders/\(order.id)"
        return order
    }

    /// Answers the clients of decided batches whose outcome is still not written by `now` (all of
    /// them with `now` nil: shutdown), 503 with the id. Their orders stay in memory until written.
    private func expireOutcomes(before now: ContinuousClock.Instant?, cause: String, _ state: inout State) -> [(Order, [Answer])] {
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
    private func withdraw(_ id: Int64, reason: String, _ state: inout State) -> (Order, [Answer])? {
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
    private func forget(_ ids: [Int64]) {
        state.withLock { state in
            for id in ids {
                guard let live = state.live.removeValue(forKey: id) else { continue }
                forgetKey(of: live.order, &state)
            }
        }
    }

    /// An order's key is kept in memory only while the order is: the history holds it for the
    /// 24 h window (`OrderHistory.order(userID:key:since:)`), so this map never outgrows `live`.
    private func forgetKey(of order: Order, _ state: inout State) {
        guard let key = order.idempotencyKey else { return }
        let ref = KeyRef(userID: order.userID, key: key)
        if state.keys[ref] == order.id { state.keys[ref] = nil }
    }

    /// Orders and idempotency keys held in memory (for tests: both stay bounded by the live orders).
    var kept: (orders: Int, keys: Int) { state.withLock { ($0.live.count, $0.keys.count) } }

    /// One thread watches the oldest pending order: it is the first to time out, and the one a
    /// lingering partial batch waits on (every order waits the same ORDER_TIMEOUT). It also watches
    /// the oldest decided batch whose outcome is not yet written (every one waits the same bound).
    private func runTimer() {
        while true {
            let (answers, expired, dispatches, nextCheck, stop) = state.withLock { state
                -> ([(Order, [Answer])], [(Order, [Answer])], [Batch], ContinuousClock.Instant?, Bool) in
                if state.stopping { return ([], [], [], nil, true) }
                var answers: [(Order, [Answer])] = []
                var dispatches: [Batch] = []
                var nextCheck: ContinuousClock.Instant?
                let now = ContinuousClock.now
                while let (head, received) = oldestPending(&state) {
                    let timeout = received + configuration.orderTimeout
                    if timeout <= now {
                        let reason = "order \(head.id) withdrawn: it waited longer than ORDER_TIMEOUT (\(configuration.orderTimeout.seconds) s) for its batch"
                        if let withdrawn = withdraw(head.id, reason: reason, &state) { answers.append(withdrawn) }
                        continue
                    }
                    if let linger = configuration.batchLinger {
                        let due = received + linger
                        if due <= now {
                            dispatches.append(formBatch(&state))
                            continue
                        }
                        nextCheck = min(due, timeout)
                    } else {
                        nextCheck = timeout
                    }
                    break
                }
                let cause = "\(journal.fault.map(String.init(describing:)) ?? "the order history could not be written") "
                    + "for OUTCOME_DURABILITY_TIMEOUT (\(configuration.outcomeDurabilityTimeout.seconds) s)"
                let expired = expireOutcomes(before: now, cause: cause, &state)
                if let due = state.outcomeDeadlines.first?.at {
                    nextCheck = nextCheck.map { min($0, due) } ?? due
                }
                return (answers, expired, dispatches, nextCheck, false)
            }
            for (order, waiters) in answers { waiters.forEach { $0(order, .timedOut) } }
            for (order, waiters) in expired { waiters.forEach { $0(order, .outcomeNotRecorded) } }
            dispatches.forEach(dispatch)
            if stop { return }
            if let nextCheck {
                _ = timerWake.wait(timeout: .now() + max(0.001, (nextCheck - ContinuousClock.now).seconds))
            } else {
                timerWake.wait()
            }
        }
    }

    private func oldestPending(_ state: inout State) -> (Order, ContinuousClock.Instant)? {
        while let id = state.queue.first {
            if let live = state.live[id], !live.inBatch, !live.order.status.isFinal { return (live.order, live.received) }
            state.queue.removeFirst()
        }
        return nil
    }

    // MARK: Shutdown

    /// Withdraws what was not sent (answered 503), lets the batches in flight finish and answer,
    /// and writes the history.
    public func shutdown() async {
        let withdrawn = state.withLock { state -> [(Order, [Answer])] in
            state.stopping = true
            var withdrawn: [(Order, [Answer])] = []
            while let (head, _) = oldestPending(&state) {
                if let order = withdraw(head.id, reason: "order \(head.id) withdrawn, not sent: the server is shutting down", &state) {
                    withdrawn.append(order)
                }
            }
            return withdrawn
        }
        timerWake.signal()
        for (order, waiters) in withdrawn { waiters.forEach { $0(order, .shuttingDown) } }
        logger.notice("orders drained", metadata: ["withdrawn": "\(withdrawn.count)",
                                                   "batches_in_flight": "\(counters.batchesInFlight)"])
        // Batches sent finish; their clients hear the outcome once it is written. While the history
        // cannot be written, they are told at once (503 with the id) that it is not recorded yet.
        while true {
            let fault = journal.fault
            let (expired, done) = state.withLock { state -> ([(Order, [Answer])], Bool) in
                let expired = fault.map { fault in
                    expireOutcomes(before: nil, cause: "\(fault) when the server shut down", &state)
                } ?? []
                let held = state.live.values.contains { $0.decided != nil && !$0.waiters.isEmpty }
                return (expired, state.executing == 0 && !held && state.answering == 0)
            }
            for (order, waiters) in expired { waiters.forEach { $0(order, .outcomeNotRecorded) } }
            if done { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        timer.finish()
        journal.finish()
    }
}

/// Runs `operation`, or throws when `limit` passes first, even if the operation ignores cancellation.
func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let resumed = Locked(false)
        let claim: @Sendable () -> Bool = { resumed.withLock { done in defer { done = true }; return !done } }
        let timer = Locked<Task<Void, Never>?>(nil)
        let work = Task {
            let result = await Result(catching: { try await operation() })
            if claim() {
                continuation.resume(with: result)
                // Hundreds of batches a second would otherwise each leave a timer asleep for the whole limit.
                timer.withLock { $0?.cancel() }
            }
        }
        timer.withLock { timer in
            timer = Task {
                guard (try? await Task.sleep(for: limit)) != nil, claim() else { return }
                continuation.resume(throwing: ExecutionError("the execution server did not answer within EXECUTION_TIMEOUT (\(limit.seconds) s)"))
                work.cancel()
            }
            // The work may have finished before its timer existed.
            if resumed.withLock({ $0 }) { timer?.cancel() }
        }
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
