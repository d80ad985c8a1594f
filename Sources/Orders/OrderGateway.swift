import Foundation
import Limits
import Logging
import ProcessSupport
import Storage

/// The Orders module's API, as the responder runs it: recovery at construction, then taking orders,
/// batching and executing them, and the order history.
///
/// Constructing it recovers what a crash left and starts nothing; `start` starts its two threads
/// (the journal's writer and the batcher's timer). At shutdown, `drain` answers what it holds while
/// the FastCGI server still writes answers, and `shutdown` then joins its threads.
///
/// ```swift
/// let gateway = try OrderGateway(store: SQLiteOrderStore(database: pool), configuration: .init(),
///                                execution: server, logger: logger)
/// gateway.start()
/// let submission = try gateway.submit(userID: 7, side: .buy, price: price, key: nil) { order, ending in … }
/// gateway.drain(before: .now + .seconds(5))
/// gateway.shutdown()
/// ```
public final class OrderGateway: Sendable {
    let batcher: OrderBatcher
    public let recovery: OrderRecovery
    /// Orders per user (`OrdersConfiguration.orderBurst`, `ordersPerSecond`).
    private let rateLimiter: RateLimiter
    private let logger: Logger

    /// Recovers what a crash left (see `OrderStore.recover`); `start` then starts batching.
    public init(store: any OrderStore, configuration: OrdersConfiguration, execution: any ExecutionSdk, logger: Logger) throws {
        rateLimiter = RateLimiter(burst: configuration.orderBurst, perSecond: configuration.ordersPerSecond)
        self.logger = logger
        recovery = try store.recover(now: Date())
        if recovery != OrderRecovery() {
            logger.notice("recovered orders left by an earlier run", metadata: [
                "withdrawn": "\(recovery.withdrawn)", "unreconciled_batches": "\(recovery.unreconciledBatches)",
                "unreconciled_orders": "\(recovery.unreconciledOrders)",
            ])
        }
        let next = try store.nextIDs()
        batcher = OrderBatcher(configuration: configuration, execution: execution,
                               journal: OrderJournal(store: store, logger: logger),
                               history: store,
                               firstOrderID: next.order, firstBatchID: next.batch, logger: logger)
        logger.notice("order gateway ready", metadata: [
            "batch_size": "\(configuration.batchSize)", "execution_server": "\(execution.name)",
        ])
    }

    // MARK: Lifecycle

    /// Starts the journal's writer and the timer. Orders submitted before wait for them.
    public func start() { batcher.start() }

    /// Withdraws the orders not sent (answered 503) and waits, until `deadline` at most, for the
    /// batches in flight to be answered. Returns whether everything was answered. Blocks: call it
    /// from one of the program's own threads.
    @discardableResult
    public func drain(before deadline: ContinuousClock.Instant?) -> Bool { batcher.drain(before: deadline) }

    /// Drains (without a deadline: the batches in flight end within EXECUTION_TIMEOUT), then joins
    /// the timer and lets the journal write what it holds and end. Blocks the calling thread.
    public func shutdown() { batcher.shutdown() }

    /// `shutdown` for async code: it blocks a thread of its own, not one of the cooperative pool.
    public func shutdown() async {
        await OwnThread.run(name: "order-shutdown") { [batcher] in batcher.shutdown() }
    }

    // MARK: Orders

    /// Takes one order from `userID`'s allowance (`OrdersConfiguration.orderBurst`, `ordersPerSecond`):
    /// `nil` when allowed, else the whole seconds to wait before the next.
    public func takeOrderAllowance(userID: Int64) -> Int? { rateLimiter.take(userID) }

    /// Adds an order, or attaches an idempotent retry to the order its key names; `answer` is
    /// called once when the order's wait ends. Throws `OrdersError.notAccepted` when the history
    /// cannot be written (no order is taken meanwhile) or read.
    public func submit(userID: Int64, side: OrderSide, price: Price, key: String?,
                       answer: @escaping Answer) throws(OrdersError) -> Submission {
        do {
            return try batcher.submit(userID: userID, side: side, price: price, key: key, answer: answer)
        } catch {
            logger.error("order not accepted", metadata: ["error": "\(error)"])
            throw .notAccepted(StorageFault(error))
        }
    }

    /// A waiting client went away (`Submission.waiting`'s ids). An order nobody waits for any more
    /// is withdrawn if it has not been sent; once sent, its outcome stands.
    public func clientGone(orderID: Int64, waiter: UInt64) { batcher.clientGone(orderID: orderID, waiter: waiter) }

    /// The order, live or stored, if it belongs to `userID`.
    public func order(id: Int64, userID: Int64) throws -> Order? { try batcher.order(id: id, userID: userID) }

    /// The user's newest orders, live ones included.
    public func orders(userID: Int64, limit: Int) throws -> [Order] { try batcher.orders(userID: userID, limit: limit) }

    // MARK: Figures

    public var configuration: OrdersConfiguration { batcher.configuration }

    /// Orders pending, batches in flight and done, for health.
    public var counters: Counters { batcher.counters }

    /// The execution server's name, for health and logs.
    public var executionName: String { batcher.execution.name }

    /// Why the order history cannot be written right now, if it cannot; no order is taken meanwhile.
    public var historyFault: StorageFault? { batcher.historyFault }
}
