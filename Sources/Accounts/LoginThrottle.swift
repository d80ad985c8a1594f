import Limits
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// Backoff after failed logins, kept in memory, on two keys.
///
/// - **A username from one client address** (an IPv6 address counts by its /64, which one
///   machine usually holds whole): the first `freeFailures` failures cost nothing; each one after
///   that locks the pair for `firstLock`, doubled every time, up to `longestLock`. A flood from
///   one address therefore locks out only that address, never the user's own logins elsewhere.
/// - **A username from everywhere**: the same backoff after `freeFailuresAcrossAddresses`, so
///   that guesses spread over many addresses still meet a ceiling.
///
/// An attempt counts as a failure when it *starts* (``begin(username:address:now:)``), before the
/// slow password check, and is taken back if it succeeds. A burst of simultaneous guesses thus
/// gets exactly as many tries as the same guesses one after another. A success also clears the
/// pair's record. While locked, logins are refused (429 with `Retry-After`) before any hashing.
public final class LoginThrottle: Sendable {
    public struct Policy: Sendable {
        /// Failures of one username from one address before the pair is locked.
        public var freeFailures = 5
        /// Failures of one username from all addresses together before it is locked everywhere.
        public var freeFailuresAcrossAddresses = 100
        public var firstLock: Duration = .seconds(30)
        public var longestLock: Duration = .seconds(900)
        /// Failures older than this are forgotten.
        public var memory: Duration = .seconds(3600)
        /// Records kept at most, for each of the two keys; past it the least recently used go.
        public var maxRecords = 100_000
        public init() {}
    }

    /// Why a login may not be tried now.
    public struct Refusal: Error, Sendable, Equatable {
        public let wait: Duration
        /// `true` when the username is locked for every address, not only the caller's.
        public let everywhere: Bool
    }

    private struct Record: Sendable {
        var failures = 0
        var lockedUntil: ContinuousClock.Instant?
        var lastFailure: ContinuousClock.Instant
    }

    private struct Records: Sendable {
        var pairs: LRUTable<String, Record>
        var usernames: LRUTable<String, Record>
    }

    public let policy: Policy
    private let records: Locked<Records>

    public init(policy: Policy = Policy()) {
        self.policy = policy
        records = Locked(Records(pairs: LRUTable(capacity: policy.maxRecords),
                                 usernames: LRUTable(capacity: policy.maxRecords)))
    }

    /// Counts a login attempt for `username` from `address`, or refuses it while either key is
    /// locked. Call ``succeeded(username:address:)`` when the password was right.
    public func begin(username: String, address: String?, now: ContinuousClock.Instant = .now) throws(Refusal) {
        let name = username.lowercased(), pair = Self.pairKey(name, address)
        try records.withLock { records throws(Refusal) in
            if let wait = Self.wait(records.usernames.peek(name), now) { throw Refusal(wait: wait, everywhere: true) }
            if let wait = Self.wait(records.pairs.peek(pair), now) { throw Refusal(wait: wait, everywhere: false) }
            records.pairs[pair] = fail(records.pairs[pair], free: policy.freeFailures, now: now)
            records.usernames[name] = fail(records.usernames[name], free: policy.freeFailuresAcrossAddresses, now: now)
        }
    }

    /// The attempt begun for this pair was right: it is not a failure, and the pair starts afresh.
    public func succeeded(username: String, address: String?) {
        let name = username.lowercased()
        records.withLock { records in
            records.pairs.removeValue(forKey: Self.pairKey(name, address))
            refund(&records.usernames, name, free: policy.freeFailuresAcrossAddresses)
        }
    }

    /// The attempt begun was never judged (the server could not check it): it does not count.
    public func withdraw(username: String, address: String?) {
        let name = username.lowercased()
        records.withLock { records in
            refund(&records.pairs, Self.pairKey(name, address), free: policy.freeFailures)
            refund(&records.usernames, name, free: policy.freeFailuresAcrossAddresses)
        }
    }

    private func refund(_ table: inout LRUTable<String, Record>, _ key: String, free: Int) {
        guard var record = table.peek(key) else { return }
        record.failures = max(0, record.failures - 1)
        if record.failures < free { record.lockedUntil = nil }
        table[key] = record
    }

    /// Keys tracked now (for tests that show the tables stay bounded).
    public var recordCount: (pairs: Int, usernames: Int) {
        records.withLock { ($0.pairs.count, $0.usernames.count) }
    }

    private func fail(_ record: Record?, free: Int, now: ContinuousClock.Instant) -> Record {
        var record = record ?? Record(lastFailure: now)
        if now - record.lastFailure > policy.memory { record = Record(lastFailure: now) }
        record.failures += 1
        record.lastFailure = now
        let over = record.failures - free
        if over >= 0 {
            record.lockedUntil = now + min(policy.firstLock * (1 << min(over, 20)), policy.longestLock)
        }
        return record
    }

    private static func wait(_ record: Record?, _ now: ContinuousClock.Instant) -> Duration? {
        guard let until = record?.lockedUntil, until > now else { return nil }
        return until - now
    }

    private static func pairKey(_ name: String, _ address: String?) -> String {
        "\(name) \(address.map(clientKey) ?? "-")"
    }

    /// An IPv4 address as it is; an IPv6 address by its /64 (`2001:db8:0:1::/64`).
    static func clientKey(_ address: String) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard address.contains(":"), inet_pton(AF_INET6, address, &bytes) == 1 else { return address }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
