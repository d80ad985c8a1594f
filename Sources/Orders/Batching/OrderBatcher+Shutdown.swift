import Foundation
import ProcessSupport

/// Shutdown in two steps, so that the responder can bound the first by its drain timeout and still
/// join every thread in the second.
extension OrderBatcher {
    /// Withdraws what was not sent (answered 503) and waits until the batches in flight have
    /// finished and their clients are answered, or `deadline` passes. Returns whether it drained.
    /// Blocks: call it from one of the program's own threads.
    @discardableResult
    func drain(before deadline: ContinuousClock.Instant?) -> Bool {
        let (withdrawn, first) = state.withLock { state -> ([(Order, [Answer])], Bool) in
            defer { state.stopping = true }
            var withdrawn: [(Order, [Answer])] = []
            while let (head, _) = oldestPending(&state) {
                if let order = withdraw(head.id, reason: "order \(head.id) withdrawn, not sent: the server is shutting down", &state) {
                    withdrawn.append(order)
                }
            }
            return (withdrawn, !state.stopping)
        }
        timer.wake()
        for (order, waiters) in withdrawn { waiters.forEach { $0(order, .shuttingDown) } }
        if first {
            logger.notice("orders drained", metadata: ["withdrawn": "\(withdrawn.count)",
                                                       "batches_in_flight": "\(counters.batchesInFlight)"])
        }
        // Batches sent finish; their clients hear the outcome once it is written. While the history
        // cannot be written, they are told at once (503 with the id) that it is not recorded yet.
        // The journal's fault can appear while this waits (`faultChanges`), and wakes it.
        while true {
            let seen = state.withLock { $0.faultChanges }
            let fault = journal.fault
            let (expired, done) = state.withLock { state -> ([(Order, [Answer])], Bool) in
                let expired = fault.map { fault in
                    expireOutcomes(before: nil, cause: "\(fault) when the server shut down", &state)
                } ?? []
                return (expired, state.isDrained)
            }
            for (order, waiters) in expired { waiters.forEach { $0(order, .outcomeNotRecorded) } }
            if done { return true }
            if let deadline, deadline <= .now { return false }
            _ = state.wait(until: deadline, while: { !$0.isDrained && $0.faultChanges == seen }) { _ in }
        }
    }

    /// Drains without a deadline (the batches in flight end within EXECUTION_TIMEOUT), then stops
    /// the timer and lets the journal write what it holds.
    func shutdown() {
        drain(before: nil)
        timer.stopAndJoin()
        journal.finish()
    }
}

extension OrderBatcher.State {
    /// No batch executing, no decided order with a client waiting, no task answering.
    var isDrained: Bool {
        executing == 0 && answering == 0 && !live.values.contains { $0.decided != nil && !$0.waiters.isEmpty }
    }
}
