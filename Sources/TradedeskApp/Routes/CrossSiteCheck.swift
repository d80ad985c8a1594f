import HTTP

/// Refuses state-changing browser requests that come from another site.
///
/// The session cookie is `SameSite=Strict`, so browsers do not send it cross-site; this is the
/// second wall. Browsers mark every fetch with `Sec-Fetch-Site`, and only `same-origin` (or `none`,
/// typed by the user) passes: that also refuses another port of the same host, which is
/// `same-site`. Older browsers send `Origin` on every POST/PUT/DELETE, whose host must be this one;
/// the port cannot be compared there, because Debian's `fastcgi_params` passes the host without it.
/// A request from curl carries neither header and is not a browser-forged one.
///
/// It runs as middleware, never from a handler: `Authenticated` applies it to every unsafe
/// request that a session cookie authenticates, and the public routes that start or end a
/// session are grouped behind it (`scope`).
struct CrossSiteCheck: RouterMiddleware {
    enum Scope: Sendable {
        /// Every request of the group (registering, logging in: no session yet to tell a browser by).
        case always
        /// Requests that carry the session cookie (logging out).
        case withSessionCookie
    }

    let scope: Scope

    var name: String { "CrossSiteCheck" }

    func prepare(_ request: HTTPRequest) throws {
        if scope == .always || SessionCookie.value(in: request) != nil { try Self.reject(request) }
    }

    static func reject(_ request: HTTPRequest) throws(HTTPError) {
        if let site = request.header("sec-fetch-site"), site != "same-origin", site != "none" {
            throw HTTPError(.forbidden, "cross-site request refused")
        }
        if let origin = request.header("origin") {
            let host = request.header("host").map(hostName) ?? ""
            let originHost = origin.components(separatedBy: "://").dropFirst().first.map(hostName) ?? ""
            guard !host.isEmpty, originHost == host else {
                throw HTTPError(.forbidden, "cross-site request refused: Origin \(origin) is not this site")
            }
        }
    }

    static func changesState(_ request: HTTPRequest) -> Bool {
        ![.get, .head, .options].contains(request.method)
    }

    /// `example.com:8080` → `example.com`; `[::1]:8080` → `[::1]`; lower-cased.
    static func hostName(_ authority: String) -> String {
        let lowered = authority.lowercased()
        if lowered.hasPrefix("["), let end = lowered.firstIndex(of: "]") { return String(lowered[...end]) }
        return String(lowered.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}
