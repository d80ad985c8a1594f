/// What the core calls. It knows nothing of routes, orders or chat.
public protocol FastCGIApplication: Sendable {
    /// Called on a request thread for each request, read whole. Answer with `exchange.respond` now, or
    /// call `exchange.hold` and answer later from any thread. Blocking work (SQLite, hashing) may run
    /// here: this is one of the core's own threads, not the cooperative pool.
    func handle(_ exchange: FastCGIExchange)

    /// Called once accepting has stopped at shutdown, on the thread that shuts the server down:
    /// answer or finish what is held, waiting until `deadline` at most (the drain timeout). Requests
    /// still held when this returns are answered 503 by the core.
    func drain(before deadline: ContinuousClock.Instant)

    /// Called once per request when it is answered (`status`) or abandoned by its client (`nil`).
    func completed(_ exchange: FastCGIExchange, status: Int?)

    /// The answer for a request the core refuses itself. The core writes status, headers and bytes
    /// and knows no body format: the application says what its clients expect to read.
    func answer(for refusal: FastCGIRefusal) -> FastCGIResponse
}

/// A request the core answers without the application's handler, or after it.
public enum FastCGIRefusal: Sendable, Equatable {
    /// The body is larger than `FastCGIConfiguration.maxBodyBytes`; the handler never sees it (413).
    case bodyTooLarge(limit: Int)
    /// The handler returned without answering or holding the request: a bug (500).
    case unanswered
    /// Still held when the drain at shutdown ended (503).
    case shuttingDown
}

extension FastCGIApplication {
    public func drain(before deadline: ContinuousClock.Instant) {}
    public func completed(_ exchange: FastCGIExchange, status: Int?) {}
}
