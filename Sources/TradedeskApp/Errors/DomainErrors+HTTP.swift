import Accounts
import Chat
import HTTP
import Orders
import Storage

// The one adapter from the modules' own errors to HTTP answers: each domain error's status,
// message and headers, here and nowhere else. The modules throw them knowing nothing of HTTP;
// `HTTPApplication` answers whatever conforms to `HTTPResponseError`, in one place.

extension HTTPField {
    /// What a 401 asks for: an API token (a browser logs in instead).
    static let bearerChallenge = HTTPField(name: .wwwAuthenticate, value: "Bearer realm=\"tradedesk\"")
}

extension AccountsError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .authenticationRequired, .invalidCredentials, .sessionEnded, .wrongPassword: .unauthorized
        case .registrationClosed: .forbidden
        case .noSuchToken: .notFound
        case .usernameReserved, .usernameTaken, .tooManyTokens: .conflict
        case .loginsLocked: .tooManyRequests
        case .databaseUnavailable, .tooManyPasswordChecks: .serviceUnavailable
        }
    }

    public var message: String {
        switch self {
        case .authenticationRequired: "authentication required: send Authorization: Bearer <token>, or log in"
        case .invalidCredentials: "invalid, expired or revoked credentials"
        case .sessionEnded: "your session has ended; log in again"
        case .wrongPassword: "invalid username or password"
        case .loginsLocked(let seconds, let everywhere):
            "too many failed logins for \(everywhere ? "this username" : "this username from your address"); retry in \(seconds) s"
        case .databaseUnavailable: "the account database is unavailable; retry shortly"
        case .tooManyPasswordChecks: "too many logins in progress; retry shortly"
        case .registrationClosed: "registration is closed on this server; ask an operator for an account"
        case .usernameReserved(let name): "username '\(name)' is reserved"
        case .usernameTaken(let name): "username '\(name)' is taken"
        case .tooManyTokens(let limit): "you hold \(limit) tokens, the most a user may; revoke one first (DELETE /api/tokens/{id})"
        case .noSuchToken: "no such token"
        }
    }

    public func headers(for request: HTTPRequest?) -> HTTPFields {
        switch self {
        case .authenticationRequired, .wrongPassword: HTTPFields([.bearerChallenge])
        case .invalidCredentials: [.wwwAuthenticate: "Bearer realm=\"tradedesk\", error=\"invalid_token\""]
        // The browser forgets the cookie of a session that is over.
        case .sessionEnded:
            HTTPFields([.bearerChallenge, HTTPField(name: .setCookie, value: SessionCookie.cleared(secure: request?.isHTTPS ?? false))])
        case .loginsLocked(let seconds, _): .retryAfter(seconds)
        case .databaseUnavailable: .retryAfter(2)
        case .tooManyPasswordChecks: .retryAfter(1)
        default: [:]
        }
    }
}

extension CredentialRules.Violation: HTTPResponseError {
    public var status: HTTPStatus { .badRequest }
    public var message: String { "field \(description)" }
}

extension OrdersError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .noSuchOrder: .notFound
        case .keyReused: .unprocessableContent
        case .shuttingDown, .notAccepted: .serviceUnavailable
        }
    }

    public var message: String {
        switch self {
        case .noSuchOrder: "no such order"
        case .keyReused(let key, let order): "Idempotency-Key '\(key)' was used for order \(order) with a different body"
        case .shuttingDown: "the server is shutting down; the order was not accepted"
        case .notAccepted(let fault):
            "\(fault.map(String.init(describing:)) ?? "the order history cannot be read"): the order was not accepted; retry later"
        }
    }

    public func headers(for request: HTTPRequest?) -> HTTPFields {
        switch self {
        case .noSuchOrder, .keyReused: [:]
        case .shuttingDown: .retryAfter(1)
        case .notAccepted(let fault): .retryAfter(fault?.retryAfter ?? 2)
        }
    }
}

extension ChatError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .noSuchRoom: .notFound
        case .roomNameTaken: .conflict
        case .messagesUnavailable, .postQueueFull, .shuttingDown: .serviceUnavailable
        }
    }

    public var message: String {
        switch self {
        case .noSuchRoom: "no such room"
        case .roomNameTaken(let name): "a room named '\(name)' exists"
        case .messagesUnavailable: "messages cannot be read right now; retry shortly"
        case .postQueueFull(let limit): "too many posts are waiting to be saved (limit \(limit)); nothing was saved; retry shortly"
        case .shuttingDown: "the server is shutting down; nothing was saved; retry shortly"
        }
    }

    public func headers(for request: HTTPRequest?) -> HTTPFields {
        switch self {
        case .noSuchRoom, .roomNameTaken: [:]
        case .messagesUnavailable, .postQueueFull, .shuttingDown: .retryAfter(1)
        }
    }
}

/// A full disk or an unwritable file is the operator's to fix, and the request can be retried
/// then: 503 naming what is wrong. The only place a storage fault becomes an answer.
extension StorageFault: HTTPResponseError {
    public var status: HTTPStatus { .serviceUnavailable }
    public var message: String { "\(self): nothing was saved; retry later" }
    public func headers(for request: HTTPRequest?) -> HTTPFields { .retryAfter(retryAfter) }

    /// The storage fault behind a database's error, which cannot conform itself
    /// (`HTTPApplication`'s `recognize`).
    static func recognize(_ error: any Error) -> (any HTTPResponseError)? { StorageFault(error) }
}
