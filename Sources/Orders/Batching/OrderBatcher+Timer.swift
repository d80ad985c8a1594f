import Foundation
import ProcessSupport

/// The timer thread's pass: one thread watches the oldest pending order, which is the first to time
/// out and the one a lingering partial batch waits on (every order waits the same ORDER_TIMEOUT). It
/// also watches the oldest decided batch whose outcome is not yet written (every one waits the same
/// bound). `submit` and `finish` wake it when they create a new earliest deadline.
extension OrderBatcher {
    /// Withdraws, sends and expires what is due; returns when it is next needed.
    func expireDue() -> WorkerThread.Next {
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
        if !expired.isEmpty { state.broadcast() }
        dispatches.forEach(dispatch)
        if stop { return .finished }
        return nextCheck.map { .at($0) } ?? .whenWoken
    }
}
