import DequeModule
import Foundation
import Locking
import Logging
import ProcessSupport
import Storage

/// Execution: a formed batch is committed as sent, executed within EXECUTION_TIMEOUT in a task of
/// its own, and its outcome recorded before its clients hear it.
extension OrderBatcher {
    func dispatch(_ batch: Batch) {
        Task { await execute(batch) }
    }

    func execute(_ batch: Batch) async {
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
            let outcomes: [ExecutionOutcome]
            do {
                outcomes = try await withTimeout(configuration.executionTimeout) { [execution] in
                    try await execution.execute(batch.orders)
                }
            } catch is TimeoutError {
                throw ExecutionError("the execution server did not answer within EXECUTION_TIMEOUT (\(configuration.executionTimeout.seconds) s)")
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
    func match(_ outcomes: [ExecutionOutcome], to ids: [Int64], batch: Int64) -> [Int64: ExecutionOutcome.Decision] {
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
    func finish(_ batch: Batch, outcomes: [Int64: ExecutionOutcome.Decision], error: String?, ending: Ending) {
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
        if firstDeadline { timer.wake() }
        state.broadcast()
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
                state.broadcast()
            }
        }
    }

    /// The journal has written a batch's outcome (or never will: `error`): its orders leave memory
    /// and their clients hear the outcome (or that it is not recorded). Runs on the journal's thread.
    func outcomeRecorded(_ batchID: Int64, _ ids: [Int64], ending: Ending, error: Error?) {
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
        state.broadcast()
        // On the journal's thread, which is one of the program's own: an answer is written where
        // it became durable, with no hand-off to a task and then to a writer thread. Answers are
        // small writes to nginx's sockets, and the next events wait only as long as they take.
        if !answers.isEmpty {
            for (order, ending, waiters) in answers { waiters.forEach { $0(order, ending) } }
            state.withLock { $0.answering -= 1 }
            state.broadcast()
        }
    }
}
