import FastCGI

/// A held request, to be answered later from any thread or task.
public struct PendingResponse: Sendable {
    let exchange: FastCGIExchange

    /// Answers the request; `false` if it was answered already or its client has gone.
    @discardableResult
    public func respond(_ response: HTTPResponse) -> Bool {
        exchange.respond(response)
    }

    @discardableResult
    public func respond(_ error: HTTPError) -> Bool {
        exchange.respond(error.response)
    }

    public var isClosed: Bool { exchange.isClosed }
}

extension HTTPRequest {
    /// Holds the request open after the handler returns (the handler then returns `nil`).
    ///
    /// `onClientGone` runs if the client disconnects before the answer, after the handler has
    /// returned; use it to withdraw the work. Throws 503 with `Retry-After` when the server holds as
    /// many requests as it allows, or is shutting down.
    public func hold(onClientGone: @escaping @Sendable () -> Void = {}) throws(HTTPError) -> PendingResponse {
        guard let exchange else { preconditionFailure("hold() needs a request that came from the server") }
        do {
            try exchange.hold(onClientGone: onClientGone)
        } catch {
            switch error {
            case .limitReached(let limit):
                throw .serviceUnavailable("too many requests are waiting (limit \(limit)); retry shortly", retryAfter: 1)
            case .shuttingDown:
                throw .serviceUnavailable("the server is shutting down; retry shortly", retryAfter: 1)
            }
        }
        return PendingResponse(exchange: exchange)
    }
}
