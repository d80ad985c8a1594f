/// How the order gateway batches. Durations are seconds in the environment.
public struct OrdersConfiguration: Sendable {
    /// Orders per execution call (`BATCH_SIZE`).
    public var batchSize = 10
    /// An order still waiting for its batch after this is withdrawn and answered 504 (`ORDER_TIMEOUT`).
    public var orderTimeout: Duration = .seconds(120)
    /// When set, a partial batch is executed this long after its first order arrived (`BATCH_LINGER`).
    public var batchLinger: Duration?
    /// An execution call that takes longer fails its batch with 502 (`EXECUTION_TIMEOUT`).
    public var executionTimeout: Duration = .seconds(10)
    /// A decided batch's clients are held this long while its outcome cannot be written (a full or
    /// failing disk); then they get 503 with the order id, and read the outcome later with
    /// `GET /api/orders/{id}` (`OUTCOME_DURABILITY_TIMEOUT`). No client hears an outcome that is
    /// not on disk.
    public var outcomeDurabilityTimeout: Duration = .seconds(10)
    /// How long an `Idempotency-Key` is remembered.
    public var idempotencyWindow: Duration = .seconds(24 * 3600)
    /// Orders one user may place: a burst, then per second (`ORDER_BURST`, `ORDER_RATE`); past it 429.
    public var orderBurst = 100
    public var ordersPerSecond = 50.0

    public init() {}
}
