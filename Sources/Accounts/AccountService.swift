import Foundation
import Logging
import ProcessSupport

/// Accounts as the rest of the responder uses them: who is asking (`identity(bearerToken:)`,
/// `identity(sessionCookie:)`), sessions and tokens, and the password work (`checkPassword`,
/// `hashPassword`), which runs on a few threads of its own and calls back, because each argon2id
/// hash holds 64 MiB and ~60 ms of a core. It knows nothing of requests: the routes read the
/// credentials from them and answer from the callbacks.
public final class AccountService: Sendable {
    public let configuration: AccountsConfiguration
    public let store: any AccountStore
    let throttle: LoginThrottle
    let cache: CredentialCache
    public let logger: Logger
    private let hashing: ThreadPool

    public init(store: any AccountStore, configuration: AccountsConfiguration, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.throttle = LoginThrottle(policy: configuration.throttle)
        self.cache = CredentialCache(lifetime: configuration.credentialCacheLifetime,
                                     capacity: configuration.credentialCacheCapacity)
        self.logger = logger
        self.hashing = ThreadPool(name: "argon2", threads: configuration.passwordHashThreads,
                                  maxQueued: configuration.passwordHashQueue)
    }

    /// Starts the hashing threads; constructing the service starts nothing.
    public func start() { hashing.start() }

    /// Lets the hashes queued finish (their requests are answered, or already were with 503 by the
    /// server's drain) and joins the hashing threads.
    public func shutdown() { hashing.shutdown() }

    // MARK: Who is asking

    /// The owner of the API token sent as `Authorization: Bearer <text>`.
    public func identity(bearerToken text: String) throws(AccountsError) -> Identity {
        guard let token = SecretToken(apiToken: text),
              let credential = try lookup(.token(token.id), { try store.tokenCredential(id: token.id) }),
              token.matches(credential.secretHash)
        else { throw .invalidCredentials }
        recordUse(.token(token.id)) { try self.store.touchToken(id: token.id, at: $0) }
        return Identity(userID: credential.userID, username: credential.username, credential: .token(id: token.id))
    }

    /// The owner of the session whose cookie value is `value`; `sessionEnded` once it is over
    /// (idle longer than `sessionIdleTimeout`, older than `sessionMaxAge`, logged out) or unknown.
    public func identity(sessionCookie value: String) throws(AccountsError) -> Identity {
        guard let token = SecretToken(sessionCookie: value),
              let credential = try lookup(.session(token.id), { try store.sessionCredential(id: token.id) }),
              token.matches(credential.secretHash)
        else { throw .sessionEnded }
        let now = Date()
        let lastSeen = cache.lastUsed(.session(token.id)) ?? credential.lastUsedAt ?? now
        if let end = credential.expiresAt, end <= now { throw .sessionEnded }
        if now.timeIntervalSince(lastSeen) > configuration.sessionIdleTimeout.seconds { throw .sessionEnded }
        recordUse(.session(token.id)) { try self.store.touchSession(id: token.id, at: $0) }
        return Identity(userID: credential.userID, username: credential.username, credential: .session(id: token.id))
    }

    private func lookup(_ key: CredentialCache.Key, _ load: () throws -> StoredCredential?) throws(AccountsError) -> StoredCredential? {
        do {
            return try cache.credential(key, load: load)
        } catch {
            logger.error("credential lookup failed", metadata: ["error": "\(error)"])
            throw .databaseUnavailable
        }
    }

    private func recordUse(_ key: CredentialCache.Key, write: @escaping (Date) throws -> Void) {
        let now = Date()
        guard cache.recordUse(key, at: now) else { return }
        do { try write(now) } catch { logger.warning("could not record a credential's use", metadata: ["error": "\(error)"]) }
    }

    // MARK: Sessions and tokens

    /// A session just started: the cookie's value (the secret, shown once) and how long it may last.
    public struct NewSession: Sendable {
        public let id: Int64
        public let cookieValue: String
        public let maxAge: Duration
    }

    /// Starts a session for `userID`; past `maxSessionsPerUser` its oldest sessions end.
    public func startSession(userID: Int64) throws -> NewSession {
        let secret = SecretToken.newSecret()
        let (id, ended) = try store.createSession(userID: userID, secretHash: Sodium.hash(secret), now: Date(),
                                                  maxAge: configuration.sessionMaxAge, keep: configuration.maxSessionsPerUser)
        for old in ended { cache.evict(.session(old)) }
        return NewSession(id: id, cookieValue: SecretToken(id: id, secret: secret).sessionCookie, maxAge: configuration.sessionMaxAge)
    }

    public func endSession(id: Int64) throws {
        try store.deleteSession(id: id)
        cache.evict(.session(id))
    }

    /// Revokes one of `userID`'s tokens; `false` when it has no such token.
    public func revokeToken(id: Int64, userID: Int64) throws -> Bool {
        let deleted = try store.deleteToken(id: id, userID: userID)
        if deleted { cache.evict(.token(id)) }
        return deleted
    }

    // MARK: Password work, off the request threads

    /// Checks `password` for `username` (asking from `address`) on a hashing thread, and calls
    /// `completion` once, with the user or why not: `wrongPassword` (the same for an unknown name),
    /// `loginsLocked` while the name is locked out after repeated failures (see `LoginThrottle`),
    /// `tooManyPasswordChecks` when too many are waiting, or the store's error. Refusals that need
    /// no hashing call back at once, on the caller's thread.
    public func checkPassword(username: String, password: String, address: String?,
                              completion: @escaping @Sendable (Result<User, any Error>) -> Void) {
        // No account has such a name, and the rules are public: refusing it at once reveals
        // nothing, and keeps arbitrary text out of the throttle's table and the log.
        guard (try? CredentialRules.checkUsername(username)) != nil else {
            return completion(.failure(AccountsError.wrongPassword))
        }
        do {
            try throttle.begin(username: username, address: address)
        } catch {
            return completion(.failure(AccountsError.loginsLocked(retryAfter: Int(error.wait.seconds.rounded(.up)),
                                                                  everywhere: error.everywhere)))
        }
        let withdraw = { [throttle] in throttle.withdraw(username: username, address: address) }
        let user: User?
        do { user = try store.user(named: username) } catch {
            withdraw()
            return completion(.failure(error))
        }
        let queued = hashing.submit { [self] in
            let valid = PasswordHasher.verify(password, against: user?.passwordHash ?? PasswordHasher.decoy)
            guard valid, let user else {
                logger.notice("login failed", metadata: ["username": "\(username)"])
                return completion(.failure(AccountsError.wrongPassword))
            }
            throttle.succeeded(username: username, address: address)
            completion(.success(user))
        }
        if !queued {
            withdraw()
            completion(.failure(AccountsError.tooManyPasswordChecks))
        }
    }

    /// Hashes `password` on a hashing thread and calls `completion` once with the hash, or with
    /// `tooManyPasswordChecks` (at once) when too many are waiting.
    public func hashPassword(_ password: String, completion: @escaping @Sendable (Result<String, AccountsError>) -> Void) {
        let queued = hashing.submit { completion(.success(PasswordHasher.hash(password))) }
        if !queued { completion(.failure(.tooManyPasswordChecks)) }
    }
}
