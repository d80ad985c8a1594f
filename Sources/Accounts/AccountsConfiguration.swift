import Configuration
import ProcessSupport

/// How accounts behave: registration, sessions, credential caching, per-user limits and the login
/// throttle. Each setting is read by ``init(reader:)`` from the variable (and flag) its property
/// names; durations are seconds, decimals allowed.
public struct AccountsConfiguration: Sendable {
    /// Whether anyone may register with `POST /api/users`; when closed, it answers 403 and an
    /// operator adds users with `tradedesk users add`.
    ///
    /// `REGISTRATION` (`--registration`): `open` or `closed`. The default is closed.
    public var registrationOpen = false
    /// A browser session unused this long ends.
    ///
    /// `SESSION_IDLE_TIMEOUT` (`--session-idle-timeout`). The default is 1 day.
    public var sessionIdleTimeout: Duration = .seconds(86_400)
    /// A session ends this long after login, used or not (the cookie's `Max-Age`).
    ///
    /// `SESSION_MAX_AGE` (`--session-max-age`). The default is 7 days.
    public var sessionMaxAge: Duration = .seconds(7 * 86_400)
    /// Password hashes (argon2id) running at once, each holding 64 MiB.
    ///
    /// `PASSWORD_HASH_THREADS` (`--password-hash-threads`), 1 to 16. The default is 2.
    public var passwordHashThreads = 2
    /// Logins waiting for a hashing thread before new ones get 503. The default is 64.
    public var passwordHashQueue = 64
    /// How long a credential found in the database is trusted without looking again. Revocation
    /// through the API is immediate; a deletion by another process (the CLI) takes effect within this.
    ///
    /// `CREDENTIAL_CACHE_LIFETIME` (`--credential-cache-lifetime`). The default is 10 s.
    public var credentialCacheLifetime: Duration = .seconds(10)
    /// Sessions and tokens kept in memory at most, the least recently used going first; one
    /// evicted is read from the database again when next used.
    ///
    /// `CREDENTIAL_CACHE_SIZE` (`--credential-cache-size`), 1 to 10,000,000. The default is 10,000.
    public var credentialCacheCapacity = 10_000
    /// Tokens one user may hold; past it `POST /api/tokens` answers 409 (and `tradedesk tokens
    /// create` refuses) until one is revoked.
    ///
    /// `MAX_TOKENS_PER_USER` (`--max-tokens-per-user`), 1 to 10,000. The default is 50.
    public var maxTokensPerUser = 50
    /// Sessions one user may have; a login past it ends the oldest.
    ///
    /// `MAX_SESSIONS_PER_USER` (`--max-sessions-per-user`), 1 to 10,000. The default is 20.
    public var maxSessionsPerUser = 20
    /// When failed logins lock a username. Of its policy, two numbers are settings:
    /// `freeFailures`, from one client address (`LOGIN_FAILURES`, `--login-failures`, 1 to
    /// 10,000, default 5), and `freeFailuresAcrossAddresses`, from all addresses together
    /// (`LOGIN_FAILURES_ACROSS_ADDRESSES`, `--login-failures-across-addresses`, 1 to 1,000,000,
    /// default 100).
    public var throttle = LoginThrottle.Policy()

    /// The defaults.
    public init() {}

    /// The defaults, with each setting `reader` has in place of its default.
    ///
    /// - Throws: ``ConfigurationError`` naming the first setting that is set to a value it does
    ///   not allow, e.g. `REGISTRATION: 'yes' is neither open nor closed`.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        switch reader.text(forKey: "registration") {
        case nil, "closed": registrationOpen = false
        case "open": registrationOpen = true
        case let other?: throw ConfigurationError("registration", "'\(other)' is neither open nor closed")
        }
        sessionIdleTimeout = try reader.seconds(forKey: "sessionIdleTimeout") ?? sessionIdleTimeout
        sessionMaxAge = try reader.seconds(forKey: "sessionMaxAge") ?? sessionMaxAge
        credentialCacheLifetime = try reader.seconds(forKey: "credentialCacheLifetime") ?? credentialCacheLifetime
        passwordHashThreads = try reader.wholeNumber(forKey: "passwordHashThreads", in: 1...16) ?? passwordHashThreads
        credentialCacheCapacity = try reader.wholeNumber(forKey: "credentialCacheSize", in: 1...10_000_000) ?? credentialCacheCapacity
        maxTokensPerUser = try Self.maxTokensPerUser(reader: reader)
        maxSessionsPerUser = try reader.wholeNumber(forKey: "maxSessionsPerUser", in: 1...10_000) ?? maxSessionsPerUser
        throttle.freeFailures = try reader.wholeNumber(forKey: "loginFailures", in: 1...10_000) ?? throttle.freeFailures
        throttle.freeFailuresAcrossAddresses = try reader.wholeNumber(forKey: "loginFailuresAcrossAddresses", in: 1...1_000_000)
            ?? throttle.freeFailuresAcrossAddresses
    }

    /// ``maxTokensPerUser`` alone, for `tradedesk tokens create`, which needs no other account
    /// setting and so is not stopped by a bad one.
    public static func maxTokensPerUser(reader: ConfigReader) throws(ConfigurationError) -> Int {
        try reader.wholeNumber(forKey: "maxTokensPerUser", in: 1...10_000) ?? Self().maxTokensPerUser
    }
}
