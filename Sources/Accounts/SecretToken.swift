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

/// Base64url without padding (RFC 4648 §5), by hand: it runs on every authenticated request, where
/// Foundation's base64 with string replacements was a measurable share of the time.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0...chunk.count { out.append(alphabet[Int(value >> (18 - 6 * UInt32(position)) & 63)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "_"): value = 63
            default: return nil
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        // One leftover character cannot encode a byte; leftover bits must be zero (canonical form).
        guard bits < 6, buffer & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}
