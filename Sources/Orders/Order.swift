import Foundation

public enum OrderSide: String, Sendable, Codable, Equatable {
    case buy, sell
}

public enum OrderStatus: String, Sendable, Codable, Equatable {
    /// Waiting for its batch, or in a batch being executed.
    case pending
    case approved, rejected
    /// The execution call failed or timed out, or its outcome is unknown after a crash (see `reason`).
    case failed
    /// Never sent: its client left, it waited longer than ORDER_TIMEOUT, or the responder stopped.
    case withdrawn

    public var isFinal: Bool { self != .pending }
}

/// An order as the API shows it.
public struct Order: Sendable, Equatable {
    public let id: Int64
    /// Nil once its user was deleted: the history keeps the order, and it belongs to nobody.
    public let userID: Int64?
    public let side: OrderSide
    public let price: Price
    public var status: OrderStatus
    /// Why it failed or was withdrawn.
    public var reason: String?
    public var batch: Int64?
    public let idempotencyKey: String?
    public let submittedAt: Date
    public var executedAt: Date?
}
