import Foundation
import GRDB
import Limits
import Logging

/// The order gateway as the responder runs it: recovery at start, the batcher, the history.
public final class OrderGateway: Sendable {
    public let batcher: OrderBatcher
    public let recovery: OrdersSchema.Recovery
    /// Orders per user (`OrdersConfiguration.orderBurst`, `ordersPerSecond`).
    public let rateLimiter: RateLimiter

    /// Recovers what a crash left (see `OrdersSchema.recover`), then starts batching.
    public init(database: DatabasePool, configuration: OrdersConfiguration, execution: any ExecutionSdk, logger: Logger) throws {
        rateLimiter = RateLimiter(burst: configuration.orderBurst, perSecond: configuration.ordersPerSecond)
        recovery = try OrdersSchema.recover(database)
        if recovery != OrdersSchema.Recovery() {
            logger.notice("recovered orders left by an earlier run", metadata: [
                "withdrawn": "\(recovery.withdrawn)", "unreconciled_batches": "\(recovery.unreconciledBatches)",
                "unreconciled_orders": "\(recovery.unreconciledOrders)",
            ])
        }
        let next = try OrdersSchema.nextIDs(database)
        batcher = OrderBatcher(configuration: configuration, execution: execution,
                               journal: OrderJournal(database: database, logger: logger),
                               history: OrderHistory(database: database),
                               firstOrderID: next.order, firstBatchID: next.batch, logger: logger)
        logger.notice("order gateway ready", metadata: [
            "batch_size": "\(configuration.batchSize)", "execution_server": "\(execution.name)",
        ])
    }

    public func shutdown() async { await batcher.shutdown() }
}
