import Foundation

/// A change to the order history, as the batcher makes it and the journal writes it, in order.
public enum OrderEvent: Sendable {
    /// Taken: the order is `pending`, in no batch yet.
    case received(Order)
    /// Never sent (its client left, it waited too long, the responder stopped).
    case withdrawn(id: Int64, reason: String, at: Date)
    /// About to be executed: written, with its orders' batch, before the execution call, so that a
    /// crash mid-call leaves a batch `recover` can tell apart. Fails unless every order is stored.
    case sent(batch: Int64, orders: [Int64], at: Date)
    /// The batch's outcome: each order's status and reason; `error` when the call itself failed.
    case decided(batch: Int64, outcomes: [(id: Int64, status: OrderStatus, reason: String?)], at: Date, error: String?)
}
