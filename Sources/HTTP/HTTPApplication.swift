import FastCGI
import Logging

/// Runs the router for each request the core accepts, answers every thrown error in one place
/// (``HTTPResponseError``), and writes one access log line per request (method, path, status,
/// duration; never bodies, query strings, cookies or credentials).
public struct HTTPApplication: FastCGIApplication {
    public let router: Router
    public let logger: Logger
    private let onDrain: @Sendable (ContinuousClock.Instant) -> Void
    private let errors: ErrorAnswers
    private let heldQuota: HeldRequestQuota?

    /// `recognize` names the answer of errors that cannot conform to `HTTPResponseError`
    /// themselves (a library's: the database's disk is full, say); any other error is a 500 whose
    /// details only the log gets. `heldPerOwner` caps the requests one user may have held
    /// (`hold(owner:)`).
    public init(router: Router, logger: Logger, heldPerOwner: Int? = nil,
                recognize: @escaping @Sendable (any Error) -> (any HTTPResponseError)? = { _ in nil },
                onDrain: @escaping @Sendable (ContinuousClock.Instant) -> Void = { _ in }) {
        self.router = router
        self.logger = logger
        self.heldQuota = heldPerOwner.map(HeldRequestQuota.init)
        self.errors = ErrorAnswers(logger: logger, recognize: recognize)
        self.onDrain = onDrain
    }

    public func handle(_ exchange: FastCGIExchange) {
        handle(params: exchange.request.params, body: exchange.request.body, exchange: exchange)
    }

    /// Routes one request and answers it through `exchange`, now or (when the handler held it) later.
    public func handle(params: [String: String], body: [UInt8], exchange: any HTTPExchange) {
        let request: HTTPRequest
        do {
            request = try HTTPRequest(params: params, body: body, exchange: exchange, heldQuota: heldQuota, errors: errors)
        } catch {
            exchange.respond(error.response)
            return
        }
        do {
            if let response = try respond(to: request) { exchange.respond(response) }
        } catch {
            exchange.respond(errors.response(for: error, to: request))
        }
    }

    /// The answer, or `nil` when the handler held the request.
    private func respond(to request: HTTPRequest) throws -> HTTPResponse? {
        var request = request
        switch router.resolve(method: request.method, segments: request.pathSegments) {
        case .notFound:
            throw HTTPError.notFound("no route for \(request.method.rawValue) \(request.rawPath)")
        case .methodNotAllowed(let allowed):
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            throw HTTPError(.methodNotAllowed, "method \(request.method.rawValue) is not allowed here; use \(list)", headers: [.allow: list])
        case .found(let handler, let parameters):
            request.pathParameters = parameters
            return try handler(request)
        }
    }

    public func drain(before deadline: ContinuousClock.Instant) { onDrain(deadline) }

    public func completed(_ exchange: FastCGIExchange, status: Int?) {
        Self.logAccess(exchange, status: status, logger: logger)
    }

    public func answer(for refusal: FastCGIRefusal) -> FastCGIResponse { Self.answer(for: refusal) }

    /// What the core's own refusals say, in the API's error shape.
    public static func answer(for refusal: FastCGIRefusal) -> FastCGIResponse {
        switch refusal {
        case .bodyTooLarge(let limit): HTTPError(.contentTooLarge, "request body is larger than \(limit) bytes").response
        case .unanswered: HTTPError(.internalServerError, "internal error").response
        case .shuttingDown: HTTPError.serviceUnavailable("the server is shutting down; retry shortly", retryAfter: 1).response
        }
    }

    /// The access log line for a request that was answered (`status`) or whose client left (`nil`).
    public static func logAccess(_ exchange: FastCGIExchange, status: Int?, logger: Logger) {
        let params = exchange.request.params
        let uri = params["REQUEST_URI"] ?? ""
        let path = uri.firstIndex(of: "?").map { String(uri[..<$0]) } ?? uri
        let milliseconds = (ContinuousClock.now - exchange.receivedAt) / .milliseconds(1)
        logger.info("\(params["REQUEST_METHOD"] ?? "-") \(path) \(status.map(String.init) ?? "client-gone")", metadata: [
            "status": "\(status ?? 499)",
            "duration_ms": "\((milliseconds * 10).rounded() / 10)",
            "connection": "\(exchange.onKeptConnection ? "kept" : "new")",
        ])
    }
}
