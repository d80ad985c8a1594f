import Foundation

/// What a start found left by the previous run, and settled (see `OrderStore.recover`).
public struct OrderRecovery: Sendable, Equatable {
    public var withdrawn = 0
    public var unreconciledBatches = 0
    public var unreconciledOrders = 0

    public init(withdrawn: Int = 0, unreconciledBatches: Int = 0, unreconciledOrders: Int = 0) {
        self.withdrawn = withdrawn
        self.unreconciledBatches = unreconciledBatches
        self.unreconciledOrders = unreconciledOrders
    }
}

/// The order history: orders and the batches that executed them.
///
/// The batcher holds live orders in memory and reads here what it no longer holds; the journal
/// writes here what the batcher decided, many events to a call. A batch is stored as sent, with
/// its orders, before the execution call, and updated when the outcome is known, so that after a
/// crash `recover` can leave no order in limbo.
///
/// A row the code cannot read (a side or status it does not know) makes the read throw, naming the
/// column and the value: it is never shown as some other order.
public protocol OrderStore: Sendable {
    // MARK: Reads

    func order(id: Int64) throws -> Order?

    /// The user's orders, newest first.
    func orders(userID: Int64, limit: Int) throws -> [Order]

    /// The newest order for this user and idempotency key submitted after `since`.
    func order(userID: Int64, key: String, since: Date) throws -> Order?

    // MARK: The journal

    /// Writes `events` in order, in one transaction: all of them or, when it throws, none.
    func write(_ events: [OrderEvent]) throws

    // MARK: At start, before the first order

    /// Leaves no order in limbo after a crash: orders never sent are withdrawn; batches cut off
    /// mid-call are marked unreconciled and their orders failed with the reason (see the README).
    func recover(now: Date) throws -> OrderRecovery

    /// The next free order and batch ids: the batcher assigns ids itself, continuing from these.
    func nextIDs() throws -> (order: Int64, batch: Int64)
}
