import Foundation
import HTTP

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
    public let userID: Int64
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

/// The JSON shape of an order.
struct OrderBody: Encodable {
    let id: Int64
    let order: OrderSide
    let price: Decimal
    let status: OrderStatus
    let reason: String?
    let batch: Int64?
    let submittedAt: String
    let executedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, order, price, status, reason, batch
        case submittedAt = "submitted_at"
        case executedAt = "executed_at"
    }

    init(_ order: Order) {
        id = order.id
        self.order = order.side
        price = order.price.decimal
        status = order.status
        reason = order.reason
        batch = order.batch
        submittedAt = order.submittedAt.apiTimestamp
        executedAt = order.executedAt?.apiTimestamp
    }

    /// Explicit nulls for `batch` and `executed_at`, so that every order has the same keys.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(order, forKey: .order)
        try container.encode(price, forKey: .price)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encode(batch, forKey: .batch)
        try container.encode(submittedAt, forKey: .submittedAt)
        try container.encode(executedAt, forKey: .executedAt)
    }
}
