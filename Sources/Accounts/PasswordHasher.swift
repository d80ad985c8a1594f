import CSodium
import Foundation

/// Password hashes: argon2id through libsodium's `crypto_pwhash_str`, with its INTERACTIVE limits
/// (2 passes over 64 MiB, about 60 ms here). The stored string names the algorithm and its
/// parameters, so limits can be raised later without breaking old hashes.
///
/// Each hash holds 64 MiB while it runs: callers bound how many run at once (see `AccountService`).
public enum PasswordHasher {
    public static let opsLimit = UInt64(crypto_pwhash_argon2id_opslimit_interactive())
    public static let memLimit = crypto_pwhash_argon2id_memlimit_interactive()

    public static func hash(_ password: String) -> String {
        _ = Sodium.randomBytes(0)  // sodium_init
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_strbytes()))
        let rc = withPasswordBytes(password) { bytes, length in
            crypto_pwhash_str_alg(&out, bytes, length, opsLimit, memLimit, crypto_pwhash_ALG_ARGON2ID13)
        }
        precondition(rc == 0, "crypto_pwhash_str failed: out of memory")
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func verify(_ password: String, against stored: String) -> Bool {
        _ = Sodium.randomBytes(0)
        return withPasswordBytes(password) { bytes, length in
            crypto_pwhash_str_verify(stored, bytes, length) == 0
        }
    }

    /// The password's UTF-8 bytes and their count. The length is explicit because a password may
    /// contain NUL; the buffer has a NUL after it so that it is never empty.
    private static func withPasswordBytes<R>(_ password: String, _ body: (UnsafePointer<CChar>, UInt64) -> R) -> R {
        let bytes = Array(password.utf8).map { CChar(bitPattern: $0) } + [0]
        return bytes.withUnsafeBufferPointer { body($0.baseAddress!, UInt64($0.count - 1)) }
    }

    /// Checked against when the username is unknown, so that a wrong name takes as long as a
    /// wrong password and does not reveal which names exist.
    static let decoy: String = hash(String(decoding: Sodium.randomBytes(16).map { 0x61 + $0 % 26 }, as: UTF8.self))
}
