import Accounts
import HTTP

/// The browser session's cookie. Over HTTPS its name has the `__Host-` prefix, which browsers
/// accept only from a secure origin, with `Secure`, `Path=/` and no `Domain`, so that nobody on the
/// plain network nor a sibling subdomain can plant a session of their choosing. `HttpOnly` keeps
/// it from scripts and `SameSite=Strict` from other sites' requests.
enum SessionCookie {
    static func name(secure: Bool) -> String { secure ? "__Host-tradedesk_session" : "tradedesk_session" }

    /// The cookie's value in `request`, if it sent one.
    static func value(in request: HTTPRequest) -> String? { request.cookies[name(secure: request.isHTTPS)] }

    /// The `Set-Cookie` value that starts `session`.
    static func set(_ session: AccountService.NewSession, secure: Bool) -> String {
        "\(name(secure: secure))=\(session.cookieValue); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(session.maxAge.seconds))"
            + (secure ? "; Secure" : "")
    }

    /// The `Set-Cookie` value that makes the browser forget the session.
    static func cleared(secure: Bool) -> String {
        "\(name(secure: secure))=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "")
    }
}
