/// A JSON value as ``JSONReader`` reads it from a request body.
///
/// Numbers keep the text they were sent as (``JSONNumber``), so that a price is read from its digits
/// and never passes through `Double`. Objects keep their members in the order sent; the reader has
/// already refused an object that names a key twice.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON object's members, in the order sent, with unique keys.
public struct JSONObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public let key: String
        public let value: JSONValue
    }

    public let members: [Member]

    public init(_ members: [Member]) { self.members = members }

    public var keys: [String] { members.map(\.key) }

    /// The value of `key`, or nil when the object has no such member. Bodies have few members, so
    /// a scan beats building a dictionary.
    public subscript(key: String) -> JSONValue? {
        for member in members where member.key == key { return member.value }
        return nil
    }
}

/// A JSON number, as the text it was sent as (which the reader has checked is a JSON number).
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init(text: String) { self.text = text }

    public var description: String { text }

    /// The number as `significand × 10^exponent`, exactly, when the significand fits in an `Int64`
    /// (at most 18 significant digits, trailing zeros aside) and the exponent is within ±64; nil
    /// for any other number, which callers read some slower way (`Decimal(string:)`).
    public var decimalParts: (significand: Int64, exponent: Int)? {
        var significand: Int64 = 0
        var digits = 0
        var exponent = 0
        var negative = false
        var pendingZeros = 0
        var inFraction = false
        var utf8 = text.utf8.makeIterator()
        var byte = utf8.next()
        if byte == UInt8(ascii: "-") { negative = true; byte = utf8.next() }
        // Significant digits; zeros after the last nonzero digit are counted, not multiplied in
        // yet, so that `1.50000000000000000000` still fits.
        while let current = byte {
            if current == UInt8(ascii: ".") {
                inFraction = true
            } else if current >= UInt8(ascii: "0"), current <= UInt8(ascii: "9") {
                if inFraction { exponent -= 1 }
                if current == UInt8(ascii: "0") {
                    if digits > 0 { pendingZeros += 1 }
                } else {
                    digits += pendingZeros + 1
                    guard digits <= 18 else { return nil }
                    for _ in 0..<pendingZeros { significand *= 10 }
                    pendingZeros = 0
                    significand = significand * 10 + Int64(current - UInt8(ascii: "0"))
                }
            } else {
                break
            }
            byte = utf8.next()
        }
        exponent += pendingZeros
        if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            byte = utf8.next()
            var exponentNegative = false
            if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
                exponentNegative = byte == UInt8(ascii: "-")
                byte = utf8.next()
            }
            var written = 0
            while let current = byte {
                written = written * 10 + Int(current - UInt8(ascii: "0"))
                guard written <= 1_000 else { return nil }
                byte = utf8.next()
            }
            exponent += exponentNegative ? -written : written
        }
        guard (-64...64).contains(exponent) else { return nil }
        if significand == 0 { return (0, 0) }
        return (negative ? -significand : significand, exponent)
    }
}
