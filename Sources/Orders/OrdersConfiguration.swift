import Configuration
import ProcessSupport

/// How the order gateway batches, times out and limits orders. Each setting is read by
/// ``init(reader:)`` from the variable (and flag) its property names; durations are seconds,
/// decimals allowed.
public struct OrdersConfiguration: Sendable {
    /// Orders per execution call.
    ///
    /// `BATCH_SIZE` (`--batch-size`), 1 to 10,000. The default is 10.
    public var batchSize = 10
    /// An order still waiting for its batch after this is withdrawn and answered 504.
    ///
    /// `ORDER_TIMEOUT` (`--order-timeout`). The default is 120 s.
    public var orderTimeout: Duration = .seconds(120)
    /// When set, a partial batch is executed this long after its first order arrived; when nil,
    /// a batch waits until it is full.
    ///
    /// `BATCH_LINGER` (`--batch-linger`); 0 is off. The default is off.
    public var batchLinger: Duration?
    /// An execution call that takes longer fails its batch with 502.
    ///
    /// `EXECUTION_TIMEOUT` (`--execution-timeout`). The default is 10 s.
    public var executionTimeout: Duration = .seconds(10)
    /// A decided batch's clients are held this long while its outcome cannot be written (a full or
    /// failing disk); then they get 503 with the order id, and read the outcome later with
    /// `GET /api/orders/{id}`. No client hears an outcome that is not on disk.
    ///
    /// `OUTCOME_DURABILITY_TIMEOUT` (`--outcome-durability-timeout`). The default is 10 s.
    public var outcomeDurabilityTimeout: Duration = .seconds(10)
    /// How long an `Idempotency-Key` is remembered. The default is 24 h.
    public var idempotencyWindow: Duration = .seconds(24 * 3600)
    /// Orders one user may place at once before the rate applies; past both, 429.
    ///
    /// `ORDER_BURST` (`--order-burst`), 1 to 1,000,000. The default is 100.
    public var orderBurst = 100
    /// Orders one user may place per second after the burst.
    ///
    /// `ORDER_RATE` (`--order-rate`), above 0. The default is 50.
    public var ordersPerSecond = 50.0

    /// The defaults.
    public init() {}

    /// The defaults, with each setting `reader` has in place of its default.
    ///
    /// - Throws: ``ConfigurationError`` naming the first setting that is set to a value it does
    ///   not allow, e.g. `BATCH_SIZE: '0' is not a whole number from 1 to 10000`.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        batchSize = try reader.wholeNumber(forKey: "batchSize", in: 1...10_000) ?? batchSize
        orderBurst = try reader.wholeNumber(forKey: "orderBurst", in: 1...1_000_000) ?? orderBurst
        ordersPerSecond = try reader.rate(forKey: "orderRate") ?? ordersPerSecond
        orderTimeout = try reader.seconds(forKey: "orderTimeout") ?? orderTimeout
        if let linger = try reader.seconds(forKey: "batchLinger") { batchLinger = linger > .zero ? linger : nil }
        executionTimeout = try reader.seconds(forKey: "executionTimeout") ?? executionTimeout
        outcomeDurabilityTimeout = try reader.seconds(forKey: "outcomeDurabilityTimeout") ?? outcomeDurabilityTimeout
    }
}
