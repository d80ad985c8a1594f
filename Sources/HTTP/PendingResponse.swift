import FastCGI

/// A held request, to be answered later from any thread or task.
public struct PendingResponse: Sendable {
    let exchange: any HTTPExchange
    /// The request held, without its content: for answers whose headers depend on how it was made.
    let request: HTTPRequest

    /// Answers the request; `false` if it was answered already or its client has gone.
    @discardableResult
    public func respond(_ response: HTTPResponse) -> Bool {
        exchange.respond(response)
    }

    /// Answers with what `error` says, exactly as if the handler had thrown it.
    @discardableResult
    public func respond(_ error: any Error) -> Bool {
        exchange.respond(request.errors.response(for: error, to: request))
    }

    public var isClosed: Bool { exchange.isClosed }
}

extension HTTPRequest {
    /// Holds the request open after the handler returns (the handler then returns `nil`).
    ///
    /// `onClientGone` runs if the client disconnects before the answer, after the handler has
    /// returned; use it to withdraw the work. With an `owner` (the user asking), the hold counts
    /// against that owner's quota (`MAX_HELD_PER_USER`): past it, 429 with `Retry-After`. Throws 503
    /// with `Retry-After` when the server holds as many requests as it allows, or is shutting down.
    public func hold(owner: Int64? = nil, onClientGone: @escaping @Sendable () -> Void = {}) throws(HTTPError) -> PendingResponse {
        guard let exchange else { preconditionFailure("hold() needs a request that came from an exchange") }
        var release: (@Sendable () -> Void)?
        if let owner, let quota = heldQuota {
            guard quota.reserve(owner) else {
                throw HTTPError(.tooManyRequests, "you have \(quota.limit) requests waiting, the most one user may; retry when one is answered",
                                headers: .retryAfter(1))
            }
            release = { quota.release(owner) }
        }
        do {
            try exchange.hold(onClientGone: onClientGone, onRelease: release)
        } catch {
            release?()
            switch error {
            case .limitReached(let limit):
                throw .serviceUnavailable("too many requests are waiting (limit \(limit)); retry shortly", retryAfter: 1)
            case .shuttingDown:
                throw .serviceUnavailable("the server is shutting down; retry shortly", retryAfter: 1)
            }
        }
        return PendingResponse(exchange: exchange, request: withoutContent)
    }
}
