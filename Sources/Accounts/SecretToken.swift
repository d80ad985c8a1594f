import ExtrasBase64
import Foundation

/// A credential the client holds: a row id, to find the row, and 32 random bytes, compared in
/// constant time against the hash stored in that row.
///
/// API tokens read `tdk_<id>_<secret>`; session cookies `<id>.<secret>`; the secret is base64url.
struct SecretToken: Sendable, Equatable {
    let id: Int64
    let secret: [UInt8]

    static let secretByteCount = 32
    static let apiPrefix = "tdk_"

    static func newSecret() -> [UInt8] { Sodium.randomBytes(secretByteCount) }

    var secretHash: [UInt8] { Sodium.hash(secret) }

    var apiToken: String { "\(Self.apiPrefix)\(id)_\(Base64URL.encode(secret))" }
    var sessionCookie: String { "\(id).\(Base64URL.encode(secret))" }

    init(id: Int64, secret: [UInt8]) {
        self.id = id
        self.secret = secret
    }

    init?(apiToken text: String) {
        guard text.hasPrefix(Self.apiPrefix) else { return nil }
        self.init(text.dropFirst(Self.apiPrefix.count), separator: "_")
    }

    init?(sessionCookie text: String) {
        self.init(Substring(text), separator: ".")
    }

    private init?(_ text: Substring, separator: Character) {
        let parts = text.split(separator: separator, maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 18, let id = Int64(parts[0]), id > 0,
              let secret = Base64URL.decode(parts[1]), secret.count == Self.secretByteCount
        else { return nil }
        self.init(id: id, secret: secret)
    }

    /// Whether `storedHash` is the hash of this secret, in constant time.
    func matches(_ storedHash: [UInt8]) -> Bool {
        Sodium.constantTimeEqual(secretHash, storedHash)
    }
}

/// Base64url without padding (RFC 4648 §5), through swift-extras-base64: it runs on every
/// authenticated request, where Foundation's base64 with string replacements was a measurable share
/// of the time.
///
/// Only the canonical form decodes. The library alone takes more: padding (`=`, also inside the last
/// group) and leftover bits that are not zero. So a decoded text must also be what encoding its bytes
/// gives back; that refuses `=`, `+`, `/`, a lone trailing character and non-zero leftover bits.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Base64.encodeToString(bytes: bytes, options: [.base64UrlAlphabet, .omitPaddingCharacter])
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard let bytes = try? Base64.decode(bytes: text.utf8, options: [.base64UrlAlphabet, .omitPaddingCharacter]),
              Base64.encodeToBytes(bytes: bytes, options: [.base64UrlAlphabet, .omitPaddingCharacter]).elementsEqual(text.utf8)
        else { return nil }
        return bytes
    }
}
