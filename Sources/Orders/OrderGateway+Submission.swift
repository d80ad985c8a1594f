import Foundation

/// What the gateway answers: how an order's wait ended, what a submission became, the counters.
extension OrderGateway {
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
        /// The gateway is stopping.
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
    }}
