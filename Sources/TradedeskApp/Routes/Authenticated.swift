import Accounts
import Foundation
import HTTP

/// Middleware for the routes that need a caller: hands each handler the `Identity` of
/// `Authorization: Bearer <token>` or of the session cookie, or answers 401 itself. A request
/// authenticated by its cookie that changes state must come from this site (`CrossSiteCheck`).
struct Authenticated: RouterMiddleware {
    let accounts: AccountService

    var name: String { "Authenticated" }

    func prepare(_ request: HTTPRequest) throws -> Identity {
        if let token = Self.bearerToken(request) { return try accounts.identity(bearerToken: token) }
        if let cookie = SessionCookie.value(in: request) {
            let identity = try accounts.identity(sessionCookie: cookie)
            if CrossSiteCheck.changesState(request) { try CrossSiteCheck.reject(request) }
            return identity
        }
        throw AccountsError.authenticationRequired
    }

    /// The text after `Authorization: Bearer`.
    static func bearerToken(_ request: HTTPRequest) -> String? {
        guard let header = request.header("authorization") else { return nil }
        // What every client sends: `Bearer ` and a token that starts and ends with a visible
        // ASCII character, read without lower-casing the header or Foundation's trimming (a few
        // per cent of an order's work); anything else as it always was.
        let utf8 = header.utf8
        if utf8.count > 7, let first = utf8.dropFirst(7).first, let last = utf8.last,
           (0x21...0x7E).contains(first), (0x21...0x7E).contains(last),
           zip(utf8.prefix(7), "bearer ".utf8).allSatisfy({ $1 == 0x20 ? $0 == $1 : $0 | 0x20 == $1 }) {
            return String(header.dropFirst(7))
        }
        guard header.lowercased().hasPrefix("bearer ") else { return nil }
        return header.dropFirst(7).trimmingCharacters(in: .whitespaces)
    }
}

/// Middleware for minting API tokens: a login or a password may, a token may not make more of
/// itself. Hands the handler the session's identity, or the username and password of
/// `Authorization: Basic` (a curl user gets a token in one line with `-u name:password`), which
/// the handler checks on the hashing threads.
struct SessionOrPassword: RouterMiddleware {
    enum Credentials: Sendable {
        case session(Identity)
        case password(username: String, password: String)
    }

    let accounts: AccountService

    var name: String { "SessionOrPassword" }

    func prepare(_ request: HTTPRequest) throws -> Credentials {
        if let (username, password) = Self.basicCredentials(request) { return .password(username: username, password: password) }
        guard let cookie = SessionCookie.value(in: request) else {
            throw HTTPError(.unauthorized, "log in, or send your username and password (curl -u name:password)",
                            headers: HTTPFields([.bearerChallenge]))
        }
        let identity = try accounts.identity(sessionCookie: cookie)
        try CrossSiteCheck.reject(request)
        return .session(identity)
    }

    /// `Authorization: Basic base64(username:password)`.
    static func basicCredentials(_ request: HTTPRequest) -> (String, String)? {
        guard let header = request.header("authorization"), header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: header.dropFirst(6).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
