/// The execution server, called once per batch.
///
/// It receives the whole batch and returns one outcome per order. Outcomes are matched to orders
/// by `orderID`, never by position: an order with no outcome, or two, is failed.
public protocol ExecutionSdk: Sendable {
    /// A short description for logs and `/api/health` (e.g. "mock (latency 0 ms)").
    var name: String { get }
    func execute(_ orders: [ExecutionOrder]) async throws -> [ExecutionOutcome]
}

public struct ExecutionOrder: Sendable, Equatable {
    public let orderID: Int64
    public let side: OrderSide
    public let price: Price
}

public struct ExecutionOutcome: Sendable, Equatable {
    public enum Decision: String, Sendable { case approved, rejected }
    public let orderID: Int64
    public let decision: Decision

    public init(orderID: Int64, decision: Decision) {
        self.orderID = orderID
        self.decision = decision
    }
}

public struct ExecutionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
