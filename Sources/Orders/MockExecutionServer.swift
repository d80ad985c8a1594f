import Foundation

/// The execution server tradedesk ships with: a mock that approves every order, as the seed's does,
/// with knobs to make it slow, picky or unreliable. It is the only mock in the product, and it says
/// so in the logs and in `/api/health`.
public struct MockExecutionServer: ExecutionSdk {
    /// Delay per call (`EXECUTION_LATENCY_MS`).
    public var latency: Duration = .zero
    /// Orders priced above this are rejected (`EXECUTION_REJECT_ABOVE`); nil rejects none.
    public var rejectAbove: Price?
    /// Fraction of calls that throw (`EXECUTION_FAIL_RATE`, 0…1).
    public var failRate: Double = 0

    public init() {}

    public var name: String {
        var parts = ["latency \(Int((latency / .milliseconds(1)).rounded())) ms"]
        if let rejectAbove { parts.append("rejects above \(rejectAbove)") }
        if failRate > 0 { parts.append("fails \(Int((failRate * 100).rounded())) % of calls") }
        return "mock (\(parts.joined(separator: ", ")))"
    }

    public func execute(_ orders: [ExecutionOrder]) async throws -> [ExecutionOutcome] {
        if latency > .zero { try await Task.sleep(for: latency) }
        if failRate > 0, Double.random(in: 0..<1) < failRate {
            throw ExecutionError("the mock execution server failed this call (EXECUTION_FAIL_RATE=\(failRate))")
        }
        return orders.map { order in
            let rejected = rejectAbove.map { order.price > $0 } ?? false
            return ExecutionOutcome(orderID: order.orderID, decision: rejected ? .rejected : .approved)
        }
    }
}
