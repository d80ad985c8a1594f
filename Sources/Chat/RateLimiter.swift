import Locking
import ProcessSupport

/// A token bucket per key (a user): `burst` at once, then `perSecond`. Refused requests learn how
/// long to wait.
public final class RateLimiter: Sendable {
    public let burst: Double
    public let perSecond: Double
    private let buckets = Locked<[Int64: (tokens: Double, at: ContinuousClock.Instant)]>([:])

    public init(burst: Int, perSecond: Double) {
        self.burst = Double(burst)
        self.perSecond = perSecond
    }

    /// Takes one token for `key`; `nil` when allowed, else the seconds to wait.
    public func take(_ key: Int64, now: ContinuousClock.Instant = .now) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? (burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at).seconds * perSecond)
            bucket.at = now
            defer {
                buckets[key] = bucket
                if buckets.count > 100_000 { buckets = buckets.filter { $0.value.tokens < burst } }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return Int(((1 - bucket.tokens) / perSecond).rounded(.up))
        }
    }
}
