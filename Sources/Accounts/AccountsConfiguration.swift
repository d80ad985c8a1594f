/// How accounts behave. Durations are seconds in the environment.
public struct AccountsConfiguration: Sendable {
    /// Whether `POST /api/users` is open (env `REGISTRATION=open|closed`; closed by default).
    public var registrationOpen = false
    /// A session unused this long ends (env `SESSION_IDLE_TIMEOUT`, default 1 day).
    public var sessionIdleTimeout: Duration = .seconds(86_400)
    /// A session ends this long after login, used or not (env `SESSION_MAX_AGE`, default 7 days).
    public var sessionMaxAge: Duration = .seconds(7 * 86_400)
    /// Password hashes running at once, each holding 64 MiB (env `PASSWORD_HASH_THREADS`, default 2).
    public var passwordHashThreads = 2
    /// Logins waiting for a hashing thread before new ones get 503.
    public var passwordHashQueue = 64
    /// How long a credential found in the database is trusted without looking again (env
    /// `CREDENTIAL_CACHE_LIFETIME`, default 10 s). Revocation through the API is immediate; a
    /// deletion by another process (the CLI) takes effect within this.
    public var credentialCacheLifetime: Duration = .seconds(10)
    /// Sessions and tokens kept in memory at most, the least recently used going first (env
    /// `CREDENTIAL_CACHE_SIZE`, default 10,000). One evicted is read from the database again.
    public var credentialCacheCapacity = 10_000
    /// Tokens one user may hold (env `MAX_TOKENS_PER_USER`, default 50); past it `POST
    /// /api/tokens` answers 409 until one is revoked.
    public var maxTokensPerUser = 50
    /// Sessions one user may have (env `MAX_SESSIONS_PER_USER`, default 20); a login past it ends
    /// the oldest.
    public var maxSessionsPerUser = 20
    public var throttle = LoginThrottle.Policy()

    public init() {}
}
