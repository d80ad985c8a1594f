/// Reads a request body as JSON (RFC 8259), strictly, into a ``JSONValue``.
///
/// It refuses what a lenient reader would guess at: anything but UTF-8 (a byte order mark or
/// UTF-16 included), an object that names a key twice (which of the two would count?), a comma
/// before `}` or `]`, bytes after the value, nesting deeper than ``maximumDepth``, a control
/// character or an invalid escape in a string, an unpaired surrogate, a number with a leading zero.
/// Numbers are checked against JSON's grammar and kept as their text: how large a number may be
/// is for the reader of the field to say.
///
/// ```swift
/// let value = try JSONReader.read(body)          // throws JSONReader.Failure
/// guard case .object(let object) = value else { … }
/// ```
public enum JSONReader {
    /// As deep as Foundation's `JSONSerialization` reads: 512 arrays or objects, one in another.
    public static let maximumDepth = 512

    /// Why a body is not JSON, and at which byte (counted from 0).
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Reason: Sendable, Equatable {
            case unexpectedEnd
            case unexpectedByte
            case invalidUTF8
            case byteOrderMark
            case controlCharacterInString
            case invalidEscape
            case unpairedSurrogate
            case leadingZero
            case tooDeep
            case trailingComma
            case duplicateKey(String)
            case bytesAfterValue
        }

        public let reason: Reason
        public let offset: Int

        public var description: String {
            let what = switch reason {
            case .unexpectedEnd: "unexpected end of the body"
            case .unexpectedByte: "unexpected character"
            case .invalidUTF8: "invalid UTF-8"
            case .byteOrderMark: "a byte order mark (the body must be UTF-8 without one)"
            case .controlCharacterInString: "unescaped control character in a string"
            case .invalidEscape: "invalid escape sequence"
            case .unpairedSurrogate: "unpaired UTF-16 surrogate in a \\u escape"
            case .leadingZero: "number with a leading zero"
            case .tooDeep: "more than \(JSONReader.maximumDepth) arrays or objects one in another"
            case .trailingComma: "a comma before the end of an array or object"
            case .duplicateKey(let key): "the key \"\(key)\" appears twice in one object"
            case .bytesAfterValue: "more after the value"
            }
            return "\(what) around character \(offset)"
        }
    }

    /// The one value `bytes` hold, with nothing but whitespace around it.
    public static func read(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(Failure) -> JSONValue in
            var parser = Parser(bytes: buffer)
            if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { throw Failure(reason: .byteOrderMark, offset: 0) }
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw Failure(reason: .bytesAfterValue, offset: parser.index) }
            return value
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func fail(_ reason: Failure.Reason, at offset: Int? = nil) -> Failure {
            Failure(reason: reason, offset: offset ?? index)
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        func peek() throws(Failure) -> UInt8 {
            guard index < bytes.count else { throw fail(.unexpectedEnd) }
            return bytes[index]
        }

        mutating func value(depth: Int) throws(Failure) -> JSONValue {
            switch try peek() {
            case UInt8(ascii: "{"): return .object(try object(depth: depth + 1))
            case UInt8(ascii: "["): return .array(try array(depth: depth + 1))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw fail(.unexpectedByte)
            }
        }

        mutating func literal(_ word: StaticString) throws(Failure) {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw fail(.unexpectedEnd) }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
                throw fail(.unexpectedByte, at: index + offset)
            }
            index += count
        }

        mutating func object(depth: Int) throws(Failure) -> JSONObject {
            guard depth <= JSONReader.maximumDepth else { throw fail(.tooDeep) }
            index += 1
            var members: [JSONObject.Member] = []
            // Past a few members, a set keeps the duplicate check linear.
            var seen: Set<String> = []
            skipWhitespace()
            if try peek() == UInt8(ascii: "}") {
                index += 1
                return JSONObject(members)
            }
            while true {
                skipWhitespace()
                let keyStart = index
                switch try peek() {
                case UInt8(ascii: "\""): break
                case UInt8(ascii: "}"): throw fail(.trailingComma)
                default: throw fail(.unexpectedByte)
                }
                let key = try string()
                let duplicate: Bool
                if members.count < 8 {
                    duplicate = members.contains { $0.key == key }
                } else {
                    if seen.isEmpty { seen = Set(members.map(\.key)) }
                    duplicate = !seen.insert(key).inserted
                }
                if duplicate { throw fail(.duplicateKey(key), at: keyStart) }
                skipWhitespace()
                guard try peek() == UInt8(ascii: ":") else { throw fail(.unexpectedByte) }
                index += 1
                skipWhitespace()
                members.append(JSONObject.Member(key: key, value: try value(depth: depth)))
                skipWhitespace()
                switch try peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return JSONObject(members)
                default: throw fail(.unexpectedByte)
                }
            }
        }

        mutating func array(depth: Int) throws(Failure) -> [JSONValue] {
            guard depth <= JSONReader.maximumDepth else { throw fail(.tooDeep) }
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") {
                index += 1
                return elements
            }
            while true {
                skipWhitespace()
                if try peek() == UInt8(ascii: "]") { throw fail(.trailingComma) }
                elements.append(try value(depth: depth))
                skipWhitespace()
                switch try peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return elements
                default: throw fail(.unexpectedByte)
                }
            }
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, ending where no JSON number
        /// could go on.
        mutating func number() throws(Failure) -> JSONNumber {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            let integerStart = index
            guard try digits() > 0 else { throw fail(.unexpectedByte) }
            if bytes[integerStart] == UInt8(ascii: "0"), index - integerStart > 1 { throw fail(.leadingZero, at: integerStart) }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard try digits() > 0 else { throw fail(.unexpectedByte) }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard try digits() > 0 else { throw fail(.unexpectedByte) }
            }
            return JSONNumber(text: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }

        /// Skips ASCII digits; returns how many. At the end of the body, a number has ended.
        mutating func digits() throws(Failure) -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            if index == start, index == bytes.count { throw fail(.unexpectedEnd) }
            return index - start
        }

        mutating func string() throws(Failure) -> String {
            index += 1
            let start = index
            // Most strings have no escapes: one scan, then one validated copy.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = try validated(UnsafeBufferPointer(rebasing: bytes[start..<index]), at: start)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
                if byte < 0x20 { throw fail(.controlCharacterInString) }
                index += 1
            }
            throw fail(.unexpectedEnd)
        }

        func validated(_ utf8: UnsafeBufferPointer<UInt8>, at offset: Int) throws(Failure) -> String {
            guard let text = String(validating: utf8, as: UTF8.self) else { throw fail(.invalidUTF8, at: offset) }
            return text
        }

        /// The rest of a string that has an escape at `index`; `start` is its first byte.
        mutating func escapedString(from start: Int) throws(Failure) -> String {
            var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return try out.withUnsafeBufferPointer { (buffer) throws(Failure) -> String in try validated(buffer, at: start) }
                case UInt8(ascii: "\\"):
                    index += 1
                    let escape = try peek()
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"): try appendUnicodeEscape(to: &out)
                    default: throw fail(.invalidEscape, at: index - 2)
                    }
                case 0..<0x20:
                    throw fail(.controlCharacterInString)
                default:
                    out.append(byte)
                    index += 1
                }
            }
            throw fail(.unexpectedEnd)
        }

        /// `\uXXXX` (its `\u` read), or a surrogate pair of two, as UTF-8.
        mutating func appendUnicodeEscape(to out: inout [UInt8]) throws(Failure) {
            let escapeStart = index - 2
            var scalar = try hexQuad()
            if (0xD800...0xDBFF).contains(scalar) {
                guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw fail(.unpairedSurrogate, at: escapeStart)
                }
                index += 2
                let low = try hexQuad()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail(.unpairedSurrogate, at: escapeStart) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw fail(.unpairedSurrogate, at: escapeStart)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw fail(.unpairedSurrogate, at: escapeStart) }
            out.append(contentsOf: UTF8.encode(unicode)!)
        }

        mutating func hexQuad() throws(Failure) -> UInt32 {
            guard bytes.count - index >= 4 else { throw fail(.unexpectedEnd) }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail(.invalidEscape)
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }
    }
}
