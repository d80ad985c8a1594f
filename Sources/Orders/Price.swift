import Foundation

/// A USD price, kept exact as a whole number of millionths (micro-dollars).
///
/// JSON numbers are decoded as `Decimal` from their digits, never through `Double`, so `0.1` is
/// exactly one tenth and is echoed back as `0.1`.
public struct Price: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let micros: Int64

    public static let fractionDigits = 6
    /// The largest price accepted: a billion dollars.
    public static let maximum = Price(micros: 1_000_000_000 * 1_000_000)

    public init(micros: Int64) { self.micros = micros }

    /// Fails for values that are not positive, have more than 6 fractional digits, or exceed `maximum`.
    public init(_ value: Decimal) throws(PriceError) {
        guard value > 0 else { throw .notPositive }
        var scaled = value * Decimal(1_000_000)
        var whole = Decimal()
        NSDecimalRound(&whole, &scaled, 0, .plain)
        guard whole == scaled else { throw .tooManyDigits }
        guard whole <= Decimal(Self.maximum.micros) else { throw .tooLarge }
        micros = NSDecimalNumber(decimal: whole).int64Value
    }

    /// `significand × 10^exponent`, exactly (a price as read from its digits, `1.0842` being
    /// `10842 × 10^-4`), with the same refusals as `init(_: Decimal)`.
    public init(significand: Int64, exponent: Int) throws(PriceError) {
        guard significand > 0 else { throw .notPositive }
        let shift = exponent + Self.fractionDigits
        var micros = significand
        if shift >= 0 {
            for _ in 0..<shift {
                let (product, overflow) = micros.multipliedReportingOverflow(by: 10)
                guard !overflow else { throw .tooLarge }
                micros = product
            }
        } else {
            for _ in 0..<(-shift) {
                guard micros % 10 == 0 else { throw .tooManyDigits }
                micros /= 10
            }
        }
        guard micros <= Self.maximum.micros else { throw .tooLarge }
        self.micros = micros
    }

    /// The exact decimal value, for JSON.
    public var decimal: Decimal { Decimal(micros) / Decimal(1_000_000) }

    /// `1.0842`, `0.1`, `123456.5`, `3`.
    public var description: String {
        let whole = micros / 1_000_000
        var fraction = String(micros % 1_000_000)
        fraction = String(repeating: "0", count: Self.fractionDigits - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }

    public static func < (a: Price, b: Price) -> Bool { a.micros < b.micros }
}

public enum PriceError: Error, Equatable {
    case notPositive, tooManyDigits, tooLarge

    public var message: String {
        switch self {
        case .notPositive: "field 'price' must be greater than 0"
        case .tooManyDigits: "field 'price' must have at most 6 digits after the decimal point"
        case .tooLarge: "field 'price' must be at most 1000000000"
        }
    }
}
