import Storage

/// What the order gateway refuses, in its own words; the responder's error adapter gives each its
/// status and headers.
public enum OrdersError: Error, Sendable, Equatable {
    /// No order with this id belongs to the caller.
    case noSuchOrder
    /// The idempotency key `key` was used for `order`, with a different body.
    case keyReused(key: String, order: Int64)
    /// The gateway is shutting down and takes no new orders.
    case shuttingDown
    /// The order history could not be read or written, so the order was not taken; `fault` says
    /// why when the disk or the file is to blame.
    case notAccepted(StorageFault?)
}
