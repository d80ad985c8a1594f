/// Runs before each handler of a route group (``Router/group(_:_:)``): it refuses the request by
/// throwing, or hands the handler what it found. Modelled on hummingbird's `RouterMiddleware`, with
/// the result passed as the handler's argument instead of a request context: an authenticating
/// middleware gives an `Identity`, and a handler without one cannot be written.
public protocol RouterMiddleware<Context>: Sendable {
    associatedtype Context: Sendable
    /// How the route table names it (`Router.routeList`), for tests that check who may call what.
    var name: String { get }
    func prepare(_ request: HTTPRequest) throws -> Context
}

/// The routes of one group, each behind the group's middleware.
public struct RouterGroup<Context: Sendable> {
    var routes: [Router.Route] = []
    let middleware: [String]
    let prepare: @Sendable (HTTPRequest) throws -> Context

    init(middleware: [String], prepare: @escaping @Sendable (HTTPRequest) throws -> Context) {
        self.middleware = middleware
        self.prepare = prepare
    }

    public typealias Handler = @Sendable (HTTPRequest, Context) throws -> HTTPResponse?

    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping Handler) {
        let prepare = self.prepare
        routes.append(Router.Route(method: method, pattern: pattern, middleware: middleware) { request in
            try handler(request, try prepare(request))
        })
    }

    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add(.get, pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { add(.post, pattern, handler) }
    public mutating func put(_ pattern: String, _ handler: @escaping Handler) { add(.put, pattern, handler) }
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { add(.delete, pattern, handler) }
}
