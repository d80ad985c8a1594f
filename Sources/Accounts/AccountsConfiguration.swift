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
    public var throttle = LoginThrottle.Policy()

    public init() {}
}
