/// What the accounts refuse, in their own words. The responder's error adapter gives each its
/// status and headers; the command line prints the same words.
public enum AccountsError: Error, Sendable, Equatable {
    /// No credentials were sent.
    case authenticationRequired
    /// A bearer token that is malformed, unknown, revoked or expired.
    case invalidCredentials
    /// The session cookie names a session that is over (or never was).
    case sessionEnded
    /// The username and password do not match (the same for an unknown name).
    case wrongPassword
    /// Too many failed logins for this username, from the caller's address or from `everywhere`.
    case loginsLocked(retryAfter: Int, everywhere: Bool)
    /// The credentials could not be read from the database.
    case databaseUnavailable
    /// As many password checks are waiting as the hashing threads may queue.
    case tooManyPasswordChecks
    case registrationClosed
    case usernameReserved(String)
    case usernameTaken(String)
    /// Minting one more token would pass `AccountsConfiguration.maxTokensPerUser`.
    case tooManyTokens(limit: Int)
    case noSuchToken
}
