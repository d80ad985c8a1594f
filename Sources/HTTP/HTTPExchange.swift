import FastCGI

/// The one way the HTTP layer answers a request: now, or held and answered later. The FastCGI
/// core's exchange is one; a test exchange (HTTPTesting) is another, so that handlers run in
/// process with no server and no socket.
public protocol HTTPExchange: AnyObject, Sendable {
    /// Keeps the request open after the handler returns (see `FastCGIExchange.hold`).
    func hold(onClientGone: @escaping @Sendable () -> Void, onRelease: (@Sendable () -> Void)?) throws(HoldRefusal)
    /// Answers the request; `false` if it was answered already or its client has gone.
    @discardableResult
    func respond(_ response: HTTPResponse) -> Bool
    var isClosed: Bool { get }
}

extension FastCGIExchange: HTTPExchange {}
