import Foundation

/// A value that can be a statement's parameter.
///
/// Parameters travel in PostgreSQL's text form, which the server reads for any column type: the
/// statement's context decides the type (`WHERE id = $1` makes `$1` a `bigint`), so one Swift type
/// serves every column type it can spell. A `nil` text is SQL `NULL` (see `Optional`).
public protocol PostgresEncodable: Sendable {
    var postgresText: String? { get }
}

extension Int64: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int32: PostgresEncodable { public var postgresText: String? { String(self) } }
extension String: PostgresEncodable { public var postgresText: String? { self } }
extension Bool: PostgresEncodable { public var postgresText: String? { self ? "t" : "f" } }
extension Double: PostgresEncodable { public var postgresText: String? { "\(self)" } }

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText }
}

/// `bytea`, in its hex form.
extension Data: PostgresEncodable {
    public var postgresText: String? { Array(self).postgresText }
}

extension Array: PostgresEncodable where Element: PostgresEncodable {
    /// `[UInt8]` is `bytea`; any other element makes an array literal (`{1,2,3}`), for
    /// `= ANY($1::bigint[])`, which keeps one prepared statement for any number of ids.
    public var postgresText: String? {
        // The element type, not a cast: an empty array of any type casts to `[UInt8]`.
        if Element.self == UInt8.self, let bytes = self as? [UInt8] {
            let digits = [UInt8]("0123456789abcdef".utf8)
            var text: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
            text.reserveCapacity(2 + 2 * bytes.count)
            for byte in bytes {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0F)])
            }
            return String(decoding: text, as: UTF8.self)
        }
        let elements = map { element -> String in
            guard let text = element.postgresText else { return "NULL" }
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\""
        }
        return "{" + elements.joined(separator: ",") + "}"
    }
}

extension UInt8: PostgresEncodable { public var postgresText: String? { String(self) } }

/// `timestamptz`, cut to the millisecond as SQLite keeps it (`Date.toTheMillisecond`), so that a
/// date read back equals the one written whichever backend holds it.
extension Date: PostgresEncodable {
    public var postgresText: String? {
        // A date read back from SQLite (GRDB parses `…:00.123`) may lie a hair below its
        // millisecond; a microsecond's grace keeps it in that millisecond rather than the one before.
        let milliseconds = Int64((timeIntervalSince1970 * 1000 + 0.001).rounded(.down))
        var seconds = time_t(milliseconds.floorDivided(by: 1000))
        let fraction = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(fraction), 3))+00"
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
