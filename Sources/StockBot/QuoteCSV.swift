import CSV
import Foundation

/// stooq's quote CSV: a header `Symbol,Date,Time,Open,High,Low,Close,Volume` and one row, read with
/// CSV.swift (RFC 4180: a quoted field may hold commas, doubled quotes and line breaks). Fields are
/// trimmed of spaces and blank lines are skipped.
///
/// Error descriptions never quote the server's text: they go to the log and the job's `last_error`.
public enum QuoteCSV {
    public enum Result: Equatable, Sendable {
        /// The symbol (upper-cased; it passed the stock code grammar) and the close price. Replies name
        /// the code the user asked for (`BotReply.quote`), never this symbol.
        case quote(symbol: String, close: Decimal)
        /// stooq knows no such symbol (`N/D` fields).
        case unknownSymbol
    }

    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(Malformed) -> Result {
        let rows = records(text)
        guard let header = rows.first else { throw Malformed(description: "empty CSV") }
        let columns = header.map { $0.lowercased() }
        guard let symbolColumn = columns.firstIndex(of: "symbol"), let closeColumn = columns.firstIndex(of: "close") else {
            throw Malformed(description: "no Symbol and Close columns in the header")
        }
        guard rows.count >= 2 else { throw Malformed(description: "no quote row") }
        let row = rows[1]
        guard row.count == columns.count else {
            throw Malformed(description: "the quote row has \(row.count) fields, the header \(columns.count)")
        }
        let symbol = row[symbolColumn]
        let close = row[closeColumn]
        if close.uppercased() == "N/D" { return .unknownSymbol }
        // The symbol goes into the bot's reply: it must look like a stock code, whatever the server sends.
        guard BotCommand.isValidCode(symbol) else { throw Malformed(description: "the symbol is not a stock code") }
        guard isPlainNumber(close), let price = Decimal(string: close, locale: Locale(identifier: "en_US_POSIX")), !price.isNaN
        else { throw Malformed(description: "the close price is not a plain number") }
        guard price > 0, price < maxClose else { throw Malformed(description: "the close price is out of range") }
        return .quote(symbol: symbol.uppercased(), close: price)
    }

    /// No share trades at a trillion dollars; above that the reply could not be formatted anyway.
    static let maxClose = Decimal(1_000_000_000_000)

    /// `[+-]digits[.digits][(e|E)[+-]digits]` in ASCII, with a digit before or after the point.
    /// `Decimal(string:)` alone is not enough: it reads a prefix (`1-2` is 1, `93.42٣` is 93.42), and
    /// takes a lone `-`, `.` or `E` for 0 and `-E` for NaN (found by fuzz/libfuzzer.sh).
    static func isPlainNumber(_ text: String) -> Bool {
        var rest = text.utf8[...]
        func skipSign() { if rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: "-") { rest.removeFirst() } }
        func digits() -> Int {
            let count = rest.prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }.count
            rest.removeFirst(count)
            return count
        }
        skipSign()
        var count = digits()
        if rest.first == UInt8(ascii: ".") {
            rest.removeFirst()
            count += digits()
        }
        guard count > 0 else { return false }
        if rest.first == UInt8(ascii: "e") || rest.first == UInt8(ascii: "E") {
            rest.removeFirst()
            skipSign()
            guard digits() > 0 else { return false }
        }
        return rest.isEmpty
    }

    /// The first two records that are not blank lines: the header and the quote row.
    private static func records(_ text: String) -> [[String]] {
        guard let reader = try? CSVReader(string: text, hasHeaderRow: false, trimFields: true) else { return [] }
        var rows: [[String]] = []
        while rows.count < 2, let row = reader.next() {
            if row != [""] { rows.append(row) }
        }
        return rows
    }
}
