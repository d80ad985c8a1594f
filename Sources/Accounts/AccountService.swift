import Foundation
import GRDB
import HTTP
import Logging
import ProcessSupport

/// Accounts as the rest of the responder uses them: who is asking (`authenticate`), and the
/// password work (`checkPassword`, `hashPassword`), which runs on a few threads of its own while the
/// request is held, because each argon2id hash holds 64 MiB and ~60 ms of a core.
public final class AccountService: Sendable {
    public let configuration: AccountsConfiguration
    public let store: AccountStore
    let throttle: LoginThrottle
    let cache: CredentialCache
    public let logger: Logger
    private let hashing: ThreadPool

    /// The session cookie's name: over HTTPS with the `__Host-` prefix, which browsers accept only
    /// from a secure origin, with `Secure`, `Path=/` and no `Domain`, so that nobody on the plain
    /// network nor a sibling subdomain can plant a session of their choosing.
    public static func sessionCookie(secure: Bool) -> String { secure ? "__Host-tradedesk_session" : "tradedesk_session" }
    static let challenge = HTTPError.Header("WWW-Authenticate", "Bearer realm=\"tradedesk\"")

    public init(database: DatabasePool, configuration: AccountsConfiguration, logger: Logger) {
        self.configuration = configuration
        self.store = AccountStore(database: database)
        self.throttle = LoginThrottle(policy: configuration.throttle)
        self.cache = CredentialCache(lifetime: configuration.credentialCacheLifetime,
                                     capacity: configuration.credentialCacheCapacity)
        self.logger = logger
        self.hashing = ThreadPool(name: "argon2", threads: configuration.passwordHashThreads,
                                  maxQueued: configuration.passwordHashQueue)
    }

    // MARK: Who is asking

    /// The caller, from `Authorization: Bearer` or the session cookie; 401 otherwise. A
    /// cookie-authenticated request that changes state must come from this site (403 otherwise).
    public func authenticate(_ request: HTTPRequest) throws(HTTPError) -> Identity {
        if let identity = try bearerIdentity(request) { return identity }
        if let identity = try sessionIdentity(request) {
            if CrossSiteCheck.changesState(request) { try CrossSiteCheck.reject(request) }
            return identity
        }
        throw HTTPError(401, "authentication required: send Authorization: Bearer <token>, or log in",
                        headers: [Self.challenge])
    }

    func bearerIdentity(_ request: HTTPRequest) throws(HTTPError) -> Identity? {
        guard let header = request.header("authorization"), header.lowercased().hasPrefix("bearer ") else { return nil }
        let text = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard let token = SecretToken(apiToken: text),
              let credential = try lookup(.token(token.id), { try store.tokenCredential(id: token.id) }),
              token.matches(credential.secretHash)
        else { throw Self.invalidCredentials }
        recordUse(.token(token.id)) { try self.store.touchToken(id: token.id, at: $0) }
        return Identity(userID: credential.userID, username: credential.username, credential: .token(id: token.id))
    }

    func sessionIdentity(_ request: HTTPRequest) throws(HTTPError) -> Identity? {
        guard let cookie = request.cookies[Self.sessionCookie(secure: request.isHTTPS)] else { return nil }
        let ended = Self.sessionEnded(secure: request.isHTTPS)
        guard let token = SecretToken(sessionCookie: cookie),
              let credential = try lookup(.session(token.id), { try store.sessionCredential(id: token.id) }),
              token.matches(credential.secretHash)
        else { throw ended }
        let now = Date()
        let lastSeen = cache.lastUsed(.session(token.id)) ?? credential.lastUsedAt ?? now
        if let end = credential.expiresAt, end <= now { throw ended }
        if now.timeIntervalSince(lastSeen) > configuration.sessionIdleTimeout.seconds { throw ended }
        recordUse(.session(token.id)) { try self.store.touchSession(id: token.id, at: $0) }
        return Identity(userID: credential.userID, username: credential.username, credential: .session(id: token.id))
    }

    private func lookup(_ key: CredentialCache.Key, _ load: () throws -> StoredCredential?) throws(HTTPError) -> StoredCredential? {
        do {
            return try cache.credential(key, load: load)
        } catch {
            logger.error("credential lookup failed", metadata: ["error": "\(error)"])
            throw HTTPError.serviceUnavailable("the account database is unavailable; retry shortly", retryAfter: 2)
        }
    }

    private func recordUse(_ key: CredentialCache.Key, write: @escaping (Date) throws -> Void) {
        let now = Date()
        guard cache.recordUse(key, at: now) else { return }
        do { try write(now) } catch { logger.warning("could not record a credential's use", metadata: ["error": "\(error)"]) }
    }

    static let invalidCredentials = HTTPError(401, "invalid, expired or revoked credentials", headers: [
        HTTPError.Header("WWW-Authenticate", "Bearer realm=\"tradedesk\", error=\"invalid_token\""),
    ])
    static func sessionEnded(secure: Bool) -> HTTPError {
        HTTPError(401, "your session has ended; log in again", headers: [
            challenge, HTTPError.Header("Set-Cookie", clearedCookie(secure: secure)),
        ])
    }

    // MARK: Sessions and tokens

    /// Starts a session and returns the `Set-Cookie` value for it.
    func startSession(userID: Int64, secure: Bool) throws -> String {
        let secret = SecretToken.newSecret()
        let (id, ended) = try store.createSession(userID: userID, secretHash: Sodium.hash(secret), now: Date(),
                                                  maxAge: configuration.sessionMaxAge, keep: configuration.maxSessionsPerUser)
        for old in ended { cache.evict(.session(old)) }
        let value = SecretToken(id: id, secret: secret).sessionCookie
        return "\(Self.sessionCookie(secure: secure))=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(configuration.sessionMaxAge.seconds))"
            + (secure ? "; Secure" : "")
    }

    func endSession(id: Int64) throws {
        try store.deleteSession(id: id)
        cache.evict(.session(id))
    }

    static func clearedCookie(secure: Bool) -> String {
        "\(sessionCookie(secure: secure))=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "")
    }

    func revokeToken(id: Int64, userID: Int64) throws -> Bool {
        let deleted = try store.deleteToken(id: id, userID: userID)
        if deleted { cache.evict(.token(id)) }
        return deleted
    }

    // MARK: Password work, off the request threads

    /// Checks `password` for `username` on a hashing thread and answers the held request with
    /// `then(user)` on success; 401 on failure (the same for an unknown name), 429 while the name is
    /// locked out after repeated failures (see `LoginThrottle`), 503 when too many checks are waiting.
    func checkPassword(_ request: HTTPRequest, username: String, password: String,
                       then: @escaping @Sendable (User) throws -> HTTPResponse) throws -> HTTPResponse? {
        // No account has such a name, and the rules are public: refusing it at once reveals
        // nothing, and keeps arbitrary text out of the throttle's table and the log.
        guard (try? CredentialRules.checkUsername(username)) != nil else {
            throw HTTPError(401, "invalid username or password", headers: [Self.challenge])
        }
        let address = request.remoteAddress
        do {
            try throttle.begin(username: username, address: address)
        } catch {
            let seconds = Int(error.wait.seconds.rounded(.up))
            let scope = error.everywhere ? "this username" : "this username from your address"
            throw HTTPError(429, "too many failed logins for \(scope); retry in \(seconds) s",
                            headers: [HTTPError.Header("Retry-After", String(seconds))])
        }
        let withdraw = { [throttle] in throttle.withdraw(username: username, address: address) }
        let user: User?
        do { user = try store.user(named: username) } catch { withdraw(); throw error }
        return try runHashing(request, refused: withdraw) { [self] in
            let valid = PasswordHasher.verify(password, against: user?.passwordHash ?? PasswordHasher.decoy)
            guard valid, let user else {
                logger.notice("login failed", metadata: ["username": "\(username)"])
                throw HTTPError(401, "invalid username or password", headers: [Self.challenge])
            }
            throttle.succeeded(username: username, address: address)
            return try then(user)
        }
    }

    /// Hashes `password` on a hashing thread and answers the held request with `then(hash)`.
    func hashPassword(_ request: HTTPRequest, _ password: String,
                      then: @escaping @Sendable (String) throws -> HTTPResponse) throws -> HTTPResponse? {
        try runHashing(request) { try then(PasswordHasher.hash(password)) }
    }

    /// `refused` runs when the work is not done: too many requests are held, or waiting to hash.
    private func runHashing(_ request: HTTPRequest, refused: () -> Void = {},
                            _ work: @escaping @Sendable () throws -> HTTPResponse) throws -> HTTPResponse? {
        let pending: PendingResponse
        do { pending = try request.hold() } catch { refused(); throw error }
        let queued = hashing.submit { [logger] in
            do {
                pending.respond(try work())
            } catch let error as HTTPError {
                pending.respond(error)
            } catch {
                logger.error("account request failed", metadata: ["error": "\(error)"])
                pending.respond(HTTPError(storageFault: error)?.response ?? .jsonError(500, "internal error"))
            }
        }
        if !queued {
            refused()
            pending.respond(HTTPError.serviceUnavailable("too many logins in progress; retry shortly", retryAfter: 1))
        }
        return nil
    }
}
