import Locking
import ProcessSupport

/// A token bucket per key (a user): `burst` at once, then `perSecond`. Refused requests learn how
/// long to wait.
///
/// At most `maxKeys` buckets are kept; past that the least recently used go. Forgetting a bucket
/// hands its key a fresh burst, and the least recently used one has most likely refilled anyway.
public final class RateLimiter: Sendable {
    public let burst: Double
    public let perSecond: Double
    private struct Bucket { var tokens: Double; var at: ContinuousClock.Instant }
    private let buckets: Locked<LRUTable<Int64, Bucket>>

    public init(burst: Int, perSecond: Double, maxKeys: Int = 100_000) {
        self.burst = Double(burst)
        self.perSecond = perSecond
        buckets = Locked(LRUTable(capacity: maxKeys))
    }

    /// Takes one token for `key`; `nil` when allowed, else the whole seconds to wait.
    public func take(_ key: Int64, now: ContinuousClock.Instant = .now) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, at: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at).seconds * perSecond)
            bucket.at = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            buckets[key] = bucket
            return allowed ? nil : Int(((1 - bucket.tokens) / perSecond).rounded(.up))
        }
    }

    /// How many keys have a bucket.
    public var keys: Int { buckets.withLock { $0.count } }
}
