import Foundation

extension Date {
    /// How the API writes a time: ISO 8601 in UTC, to the millisecond (`2026-11-22T11:49:11.063Z`).
    ///
    /// Written by hand, digit for digit what `Date.ISO8601FormatStyle(includingFractionalSeconds:
    /// true)` writes (`APITimestampTests` compares them): every order and message in an answer has
    /// one or two, and the format style's generic machinery cost more than the rest of the JSON.
    /// Times before 1970 or after 9999 are left to the format style.
    public var apiTimestamp: String {
        // As the format style counts: whole seconds since 2001, and the fraction of the last one
        // cut to the millisecond, so that the double nearest `.123` may print as `.122`.
        let sinceReference = timeIntervalSinceReferenceDate
        let wholeSeconds = sinceReference.rounded(.down)
        // 1970-01-01 to 9999-12-31 (before 1583 the format style counts Julian days).
        guard wholeSeconds >= -978_307_200, wholeSeconds < 252_423_993_600 else { return formatted(Self.apiTimestampStyle) }
        let millisecond = Int64(((sinceReference - wholeSeconds) * 1_000_000_000).rounded(.down)) / 1_000_000
        let seconds = Int64(wholeSeconds) + 978_307_200
        let days = seconds / 86_400
        let inDay = (seconds % 86_400) * 1000 + millisecond
        let (year, month, day) = Self.civil(daysSince1970: days)
        let text: [UInt8] = [
            digit(year / 1000), digit(year / 100 % 10), digit(year / 10 % 10), digit(year % 10), UInt8(ascii: "-"),
            digit(month / 10), digit(month % 10), UInt8(ascii: "-"), digit(day / 10), digit(day % 10), UInt8(ascii: "T"),
            digit(inDay / 36_000_000), digit(inDay / 3_600_000 % 10), UInt8(ascii: ":"),
            digit(inDay / 600_000 % 6), digit(inDay / 60_000 % 10), UInt8(ascii: ":"),
            digit(inDay / 10_000 % 6), digit(inDay / 1000 % 10), UInt8(ascii: "."),
            digit(inDay / 100 % 10), digit(inDay / 10 % 10), digit(inDay % 10), UInt8(ascii: "Z"),
        ]
        return String(decoding: text, as: UTF8.self)
    }

    private func digit<Value: BinaryInteger>(_ value: Value) -> UInt8 { UInt8(ascii: "0") + UInt8(value) }

    /// Year, month and day of the proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
    private static func civil(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static let apiTimestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
