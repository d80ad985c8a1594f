import Limits
import Testing

struct RateLimiterTests {
    @Test func allowsABurstThenRefillsAtItsRate() {
        let limiter = RateLimiter(burst: 2, perSecond: 0.5)
        let start = ContinuousClock.now
        #expect(limiter.take(1, now: start) == nil)
        #expect(limiter.take(1, now: start) == nil)
        #expect(limiter.take(1, now: start) == 2, "one token takes two seconds")
        #expect(limiter.take(2, now: start) == nil, "per user")
        #expect(limiter.take(1, now: start + .seconds(2)) == nil)
    }

    /// Every bucket a key leaves behind holds less than its burst, so a clean-up that kept only
    /// partly used buckets kept them all: a million distinct keys must not mean a million buckets.
    @Test func aMillionKeysKeepABoundedNumberOfBuckets() {
        let limiter = RateLimiter(burst: 5, perSecond: 1, maxKeys: 10_000)
        let start = ContinuousClock.now
        for key in 0..<Int64(1_000_000) { _ = limiter.take(key, now: start) }
        #expect(limiter.keys <= 10_000)
        #expect(limiter.take(999_999, now: start) == nil, "a recent key keeps its bucket: 3 tokens left")
    }
}
