import ExtrasBase64
import Foundation

/// The hand-written coder Sources/Accounts/SecretToken.swift had before swift-extras-base64.
enum HandWritten {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

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
        guard bits < 6, buffer & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}

/// What Sources/Accounts/SecretToken.swift does now (`Base64URL`).
enum Library {
    static let options: Base64.EncodingOptions = [.base64UrlAlphabet, .omitPaddingCharacter]
    static func encode(_ bytes: [UInt8]) -> String { Base64.encodeToString(bytes: bytes, options: options) }
    static func decode(_ text: Substring) -> [UInt8]? {
        guard let bytes = try? Base64.decode(bytes: text.utf8, options: [.base64UrlAlphabet, .omitPaddingCharacter]),
              Base64.encodeToBytes(bytes: bytes, options: options).elementsEqual(text.utf8)
        else { return nil }
        return bytes
    }
    /// The library alone, without the canonical-form check.
    static func decodeUnchecked(_ text: Substring) -> [UInt8]? {
        try? Base64.decode(bytes: text.utf8, options: [.base64UrlAlphabet, .omitPaddingCharacter])
    }
}

enum FoundationCoder {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
    static func decode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).map { Array($0) }
    }
}

// Session cookies as a request carries them: `<id>.<secret>`, the secret a substring of the header.
let secrets = (0..<1024).map { _ in (0..<32).map { _ in UInt8.random(in: 0...255) } }
let cookies = secrets.map { "42." + HandWritten.encode($0) }
let texts = cookies.map { $0.split(separator: ".", maxSplits: 1)[1] }
for (secret, text) in zip(secrets, texts) {
    precondition(Library.encode(secret) == String(text) && FoundationCoder.encode(secret) == String(text))
    precondition(Library.decode(text) == secret && FoundationCoder.decode(text) == secret && HandWritten.decode(text) == secret)
}

@inline(never) func measure(_ name: String, _ body: (Substring) -> Int) {
    let rounds = 2_000
    var best = Double.infinity
    var sink = 0
    for _ in 0..<7 {
        let start = ContinuousClock.now
        for _ in 0..<rounds { for text in texts { sink &+= body(text) } }
        let elapsed = ContinuousClock.now - start
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        best = min(best, ns / Double(rounds * texts.count))
    }
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0), String(format: "%7.1f ns per call", best), sink == 1 ? "" : "")
}

// One call: decode the secret of a token and encode it again (what a login and a check cost together).
measure("hand-written decode+encode") { HandWritten.encode(HandWritten.decode($0)!).utf8.count }
measure("swift-extras-base64 + check decode+encode") { Library.encode(Library.decode($0)!).utf8.count }
measure("swift-extras-base64 alone decode+encode") { Library.encode(Library.decodeUnchecked($0)!).utf8.count }
measure("Foundation decode+encode") { FoundationCoder.encode(FoundationCoder.decode($0)!).utf8.count }
measure("hand-written decode") { HandWritten.decode($0)!.count }
measure("swift-extras-base64 + check decode") { Library.decode($0)!.count }
measure("swift-extras-base64 alone decode") { Library.decodeUnchecked($0)!.count }
measure("Foundation decode") { FoundationCoder.decode($0)!.count }
