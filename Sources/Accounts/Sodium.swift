import CSodium
import Foundation

/// The libsodium calls accounts need: argon2id password hashes, random secrets, BLAKE2b, and
/// constant-time comparison.
enum Sodium {
    /// `sodium_init` must run once before anything else; it is safe to call again.
    private static let ready: Bool = sodium_init() >= 0

    static func randomBytes(_ count: Int) -> [UInt8] {
        precondition(ready, "libsodium could not initialise")
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, count)
        return bytes
    }

    /// BLAKE2b-256. Secrets are 256 random bits, so a fast hash stores them safely: there is
    /// nothing to guess.
    static func hash(_ bytes: [UInt8]) -> [UInt8] {
        precondition(ready, "libsodium could not initialise")
        var out = [UInt8](repeating: 0, count: 32)
        crypto_generichash(&out, 32, bytes, UInt64(bytes.count), nil, 0)
        return out
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && sodium_memcmp(a, b, a.count) == 0
    }
}
