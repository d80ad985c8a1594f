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

enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }
}
