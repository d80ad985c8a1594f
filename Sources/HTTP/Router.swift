/// Handles a routed request. Return the answer, or `nil` after `request.hold()` to answer later.
public typealias RouteHandler = @Sendable (HTTPRequest) throws -> HTTPResponse?

/// Routes by method and path pattern. A pattern is literal segments and `{name}` parameters:
/// `/api/rooms/{id}/messages`. A path that matches with another method gives 405 with `Allow`.
public struct Router: Sendable {
    private var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping RouteHandler) {
        let segments = pattern.split(separator: "/").map { part -> Route.Segment in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        routes.append(Route(method: method, pattern: pattern, segments: segments, handler: handler))
    }

    public mutating func get(_ pattern: String, _ handler: @escaping RouteHandler) { add("GET", pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping RouteHandler) { add("POST", pattern, handler) }
    public mutating func put(_ pattern: String, _ handler: @escaping RouteHandler) { add("PUT", pattern, handler) }
    public mutating func delete(_ pattern: String, _ handler: @escaping RouteHandler) { add("DELETE", pattern, handler) }

    public enum Resolution: Sendable {
        case found(RouteHandler, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    /// Every route as `(method, pattern)`, in the order added (for documentation checks).
    public var routeList: [(method: String, pattern: String)] {
        routes.map { ($0.method, $0.pattern) }
    }

    public func resolve(method: String, segments: [String]) -> Resolution {
        var allowed: [String] = []
        for route in routes {
            guard let parameters = route.match(segments) else { continue }
            if route.method == method { return .found(route.handler, parameters: parameters) }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    private struct Route: Sendable {
        enum Segment: Sendable { case literal(String), parameter(String) }
        let method: String
        let pattern: String
        let segments: [Segment]
        let handler: RouteHandler

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
