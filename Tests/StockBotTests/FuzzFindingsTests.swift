import Foundation
@testable import StockBot
import Testing

/// What fuzz/libfuzzer.sh found (FuzzQuoteCSV), kept as regression tests.
struct QuoteCSVFuzzFindingsTests {
    static let posix = Locale(identifier: "en_US_POSIX")

    /// `Decimal(string:)` reads `-E` as NaN, and the character check let it through: the bot replied
    /// "R quote is $NaN per share". The fuzzer's input, minimized: `symbol,close\rr,-E`.
    @Test(arguments: ["symbol,close\rr,-E", "Symbol,Close\r\nAAPL.US,-e\r\n", "Symbol,Close\r\nAAPL.US,-0e\r\n",
                      "Symbol,Close\r\nAAPL.US,-.e\r\n"])
    func aCloseThatReadsAsNaNIsNotAQuote(_ text: String) {
        #expect(throws: QuoteCSV.Malformed.self) { try QuoteCSV.parse(text) }
    }

    /// `Decimal(string:)` reads what it can of a string (`1-2` is 1, `93.42٣` is 93.42) and takes a
    /// sign, a point or an exponent alone for 0 ("quote is $0.00 per share"); `isNumber` lets other
    /// scripts' digits and fractions through.
    @Test(arguments: ["-", "+", ".", "E", "e5", "--", "+-1", "1..2", "1-2", "1E+", "93.42\u{663}", "1.5\u{BD}", "\u{661}\u{662}"])
    func aCloseThatIsNotAPlainNumberIsNotAQuote(_ close: String) {
        #expect(throws: QuoteCSV.Malformed.self) { try QuoteCSV.parse("Symbol,Close\r\nAAPL.US,\(close)\r\n") }
    }

    @Test(arguments: ["0", "-0", "-12.5", "1e12", "9e127"])
    func aCloseThatNoShareCouldHaveIsNotAQuote(_ close: String) {
        #expect(throws: QuoteCSV.Malformed.self) { try QuoteCSV.parse("Symbol,Close\r\nAAPL.US,\(close)\r\n") }
    }

    @Test(arguments: ["93.42", "+1", ".5", "5.", "1.0842E+0", "1e-3", "12E2", "999999999999.99"])
    func plainNumbersAreStillQuotes(_ close: String) throws {
        #expect(try QuoteCSV.parse("Symbol,Close\r\nAAPL.US,\(close)\r\n")
            == .quote(symbol: "AAPL.US", close: try #require(Decimal(string: close, locale: Self.posix))))
    }
}
