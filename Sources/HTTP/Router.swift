/// Handles a routed request. Return the answer, or `nil` after `request.hold()` to answer later.
public typealias RouteHandler = @Sendable (HTTPRequest) throws -> HTTPResponse?

/// Routes by method and path pattern. A pattern is literal segments and `{name}` parameters:
/// `/api/rooms/{id}/messages`. A path that matches with another method gives 405 with `Allow`.
///
/// Routes added here directly are public. Routes that need something first (an identity) are
/// added in a group (``group(_:_:)``), whose middleware runs before each of its handlers, so that
/// no handler can forget it.
public struct Router: Sendable {
    private var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping RouteHandler) {
        routes.append(Route(method: method, pattern: pattern, middleware: [], handler: handler))
    }

    public mutating func get(_ pattern: String, _ handler: @escaping RouteHandler) { add(.get, pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping RouteHandler) { add(.post, pattern, handler) }
    public mutating func put(_ pattern: String, _ handler: @escaping RouteHandler) { add(.put, pattern, handler) }
    public mutating func delete(_ pattern: String, _ handler: @escaping RouteHandler) { add(.delete, pattern, handler) }

    /// Adds the routes `build` adds to the group, each behind `middleware`: it runs before the
    /// handler, and its result (the caller's identity, say) is the handler's second argument.
    ///
    /// ```swift
    /// router.group(Authenticated(accounts)) { routes in
    ///     routes.get("/api/tokens") { request, identity in ... }
    /// }
    /// ```
    public mutating func group<Middleware: RouterMiddleware>(_ middleware: Middleware,
                                                             _ build: (inout RouterGroup<Middleware.Context>) -> Void) {
        var group = RouterGroup<Middleware.Context>(middleware: [middleware.name], prepare: middleware.prepare)
        build(&group)
        routes += group.routes
    }

    public enum Resolution: Sendable {
        case found(RouteHandler, parameters: [String: String])
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    /// One route as documentation and tests see it: no middleware means public.
    public struct Description: Sendable, Equatable, CustomStringConvertible {
        public let method: HTTPMethod
        public let pattern: String
        /// The names of the middleware that run before its handler, outermost first.
        public let middleware: [String]
        public var description: String { "\(method.rawValue) \(pattern)" }
    }

    /// Every route, in the order added.
    public var routeList: [Description] {
        routes.map { Description(method: $0.method, pattern: $0.pattern, middleware: $0.middleware) }
    }

    public func resolve(method: HTTPMethod, segments: [String]) -> Resolution {
        var allowed: [HTTPMethod] = []
        for route in routes {
            guard let parameters = route.match(segments) else { continue }
            if route.method == method { return .found(route.handler, parameters: parameters) }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    struct Route: Sendable {
        enum Segment: Sendable { case literal(String), parameter(String) }
        let method: HTTPMethod
        let pattern: String
        let segments: [Segment]
        let middleware: [String]
        let handler: RouteHandler

        init(method: HTTPMethod, pattern: String, middleware: [String], handler: @escaping RouteHandler) {
            self.method = method
            self.pattern = pattern
            self.segments = pattern.split(separator: "/").map { part -> Segment in
                part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
            }
            self.middleware = middleware
            self.handler = handler
        }

        func match(_ path: [String]) -> [String: String]? {
            guard path.count == segments.count else { return nil }
            var parameters: [String: String] = [:]
            for (segment, part) in zip(segments, path) {
                switch segment {
                case .literal(let literal): guard literal == part else { return nil }
                case .parameter(let name):
                    // Empty and dot segments are spellings of other paths, never a value.
                    guard !part.isEmpty, part != ".", part != ".." else { return nil }
                    parameters[name] = part
                }
            }
            return parameters
        }
    }
}
