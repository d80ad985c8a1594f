import FastCGI
import Logging

/// Runs the router for each request the core accepts, turns thrown errors into JSON answers, and
/// writes one access log line per request (method, path, status, duration; never bodies, query
/// strings, cookies or credentials).
public struct HTTPApplication: FastCGIApplication {
    public let router: Router
    public let logger: Logger
    private let onDrain: @Sendable () async -> Void
    private let answerFor: @Sendable (any Error) -> HTTPError?
    private let heldQuota: HeldRequestQuota?

    /// `answerFor` turns errors a handler did not expect but the client should hear about (the
    /// database's disk is full, say) into answers; any other error is a 500 whose details only
    /// the log gets. `heldPerOwner` caps the requests one user may have held (`hold(owner:)`).
    public init(router: Router, logger: Logger, heldPerOwner: Int? = nil,
                answerFor: @escaping @Sendable (any Error) -> HTTPError? = { _ in nil },
                onDrain: @escaping @Sendable () async -> Void = {}) {
        self.router = router
        self.logger = logger
        self.heldQuota = heldPerOwner.map(HeldRequestQuota.init)
        self.answerFor = answerFor
        self.onDrain = onDrain
    }

    public func handle(_ exchange: FastCGIExchange) {
        if let response = respond(to: exchange) { exchange.respond(response) }
    }

    /// The answer, or `nil` when the handler held the request.
    private func respond(to exchange: FastCGIExchange) -> HTTPResponse? {
        do {
            var request = try HTTPRequest(exchange: exchange, heldQuota: heldQuota)
            switch router.resolve(method: request.method, segments: request.pathSegments) {
            case .notFound:
                return HTTPError.notFound("no route for \(request.method) \(request.rawPath)").response
            case .methodNotAllowed(let allowed):
                return HTTPError(405, "method \(request.method) is not allowed here; use \(allowed.joined(separator: ", "))",
                                 headers: [.init("Allow", allowed.joined(separator: ", "))]).response
            case .found(let handler, let parameters):
                request.pathParameters = parameters
                return try handler(request)
            }
        } catch let error as HTTPError {
            return error.response
        } catch {
            // The details go to the log, never to the client.
            logger.error("handler failed", metadata: ["uri": "\(exchange.request[param: "DOCUMENT_URI"] ?? "")",
                                                      "error": "\(error)"])
            return answerFor(error)?.response ?? .jsonError(500, "internal error")
        }
    }

    public func drain() async { await onDrain() }

    public func completed(_ exchange: FastCGIExchange, status: Int?) {
        Self.logAccess(exchange, status: status, logger: logger)
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
        ])
    }
}
