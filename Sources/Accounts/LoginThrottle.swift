import Locking

/// Per-username backoff after repeated failed logins, kept in memory.
///
/// The first `freeFailures` failures cost nothing; each one after that locks the name for
/// `firstLock`, doubled every time, up to `longestLock`. A success clears the count. While locked,
/// logins are refused (429 with `Retry-After`) before any password is hashed.
public final class LoginThrottle: Sendable {
    public struct Policy: Sendable {
        public var freeFailures = 5
        public var firstLock: Duration = .seconds(30)
        public var longestLock: Duration = .seconds(900)
        /// Failures older than this are forgotten.
        public var memory: Duration = .seconds(3600)
        public init() {}
    }

    private struct Record {
        var failures = 0
        var lockedUntil: ContinuousClock.Instant?
        var lastFailure: ContinuousClock.Instant
    }

    public let policy: Policy
    private let records = Locked<[String: Record]>([:])

    public init(policy: Policy = Policy()) { self.policy = policy }

    /// How long `username` must wait, or `nil` if it may try now.
    public func wait(for username: String, now: ContinuousClock.Instant = .now) -> Duration? {
        records.withLock { records in
            guard let until = records[username.lowercased()]?.lockedUntil, until > now else { return nil }
            return until - now
        }
    }

    public func recordFailure(for username: String, now: ContinuousClock.Instant = .now) {
        let key = username.lowercased()
        records.withLock { records in
            var record = records[key] ?? Record(lastFailure: now)
            if now - record.lastFailure > policy.memory { record = Record(lastFailure: now) }
            record.failures += 1
            record.lastFailure = now
            let over = record.failures - policy.freeFailures
            if over >= 0 {
                let lock = policy.firstLock * (1 << min(over, 20))
                record.lockedUntil = now + min(lock, policy.longestLock)
            }
            records[key] = record
            if records.count > 10_000 {
                records = records.filter { now - $0.value.lastFailure < policy.memory }
            }
        }
    }

    public func recordSuccess(for username: String) {
        _ = records.withLock { $0.removeValue(forKey: username.lowercased()) }
    }
}
