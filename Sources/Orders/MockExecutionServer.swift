import Foundation
import Locking

/// The execution server tradedesk ships with: a mock that approves every order, as the seed's does,
/// with knobs to make it slow, picky or unreliable. It is the only mock in the product, and it says
/// so in the logs and in `/api/health`.
public struct MockExecutionServer: ExecutionSdk {
    /// Delay per call.
    ///
    /// `EXECUTION_LATENCY_MS` (`--execution-latency-ms`), 0 to 3,600,000 ms. The default is none.
    public var latency: Duration = .zero
    /// Orders priced above this are rejected; nil rejects none.
    ///
    /// `EXECUTION_REJECT_ABOVE` (`--execution-reject-above`), a positive price. The default is nil.
    public var rejectAbove: Price?
    /// Fraction of calls that throw.
    ///
    /// `EXECUTION_FAIL_RATE` (`--execution-fail-rate`), 0 to 1. The default is 0.
    public var failRate: Double = 0
    /// What the first calls do, one fault a call, before the mock behaves: to show that a failing
    /// or hanging server costs one batch.
    ///
    /// `EXECUTION_FAULTS` (`--execution-faults`), a comma-separated list of `fail` and `hang`,
    /// e.g. `fail,hang`. The default is none.
    public var faults: [Fault] = []

    public enum Fault: String, Sendable, CaseIterable {
        /// The call throws.
        case fail
        /// The call never answers; the batcher's `EXECUTION_TIMEOUT` ends it.
        case hang
    }

    private let callsMade = Locked(0)

    public init() {}

    public var name: String {
        var parts = ["latency \(Int((latency / .milliseconds(1)).rounded())) ms"]
        if let rejectAbove { parts.append("rejects above \(rejectAbove)") }
        if failRate > 0 { parts.append("fails \(Int((failRate * 100).rounded())) % of calls") }
        if !faults.isEmpty { parts.append("first calls: \(faults.map(\.rawValue).joined(separator: ", "))") }
        return "mock (\(parts.joined(separator: ", ")))"
    }

    public func execute(_ orders: [ExecutionOrder]) async throws -> [ExecutionOutcome] {
        let call = callsMade.withLock { calls in
            defer { calls += 1 }
            return calls
        }
        switch call < faults.count ? faults[call] : nil {
        case .fail?:
            throw ExecutionError("the mock execution server failed call \(call + 1) (EXECUTION_FAULTS)")
        case .hang?:
            try await Task.sleep(for: .seconds(365 * 86_400))
        case nil:
            break
        }
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
