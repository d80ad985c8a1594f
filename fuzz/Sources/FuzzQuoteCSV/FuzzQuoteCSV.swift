import Foundation
import StockBot

// One input is the body of a quote server's answer, decoded as the bot decodes it (UTF-8 with
// repairs), parsed as stooq's quote CSV, and for a quote turned into the chat reply. `Malformed` is
// expected; crashes, ASan reports and hangs are findings, and so is a quote whose price is not a
// number or whose reply does not name it.
//
// An input that could be one CSV field (no comma, quote, space or line break in it) is also tried
// as the Close of a well-formed answer: it may give a quote only if it is a plain decimal number
// (`-12.5`, `1.0842E+0`), with the value Decimal reads from it, and `unknownSymbol` only for N/D.

let posix = Locale(identifier: "en_US_POSIX")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let result = try? QuoteCSV.parse(text) { check(result) }

    if !text.contains(where: { $0 == "," || $0 == "\"" || $0.isWhitespace || $0.isNewline }) {
        let answer = "Symbol,Date,Time,Open,High,Low,Close,Volume\r\nAAPL.US,2026-11-20,22:00:09,93.1,94,92.5,\(text),1234567\r\n"
        switch try? QuoteCSV.parse(answer) {
        case nil:
            break
        case .unknownSymbol?:
            guard text.uppercased() == "N/D" else { fatalError("Close \(text.debugDescription) read as an unknown symbol") }
        case .quote(let symbol, let close)?:
            guard symbol == "AAPL.US", isDecimalNumber(text), close == Decimal(string: text, locale: posix) else {
                fatalError("Close \(text.debugDescription) read as the price \(close) of \(symbol.debugDescription)")
            }
            check(.quote(symbol: symbol, close: close))
        }
    }
    return 0
}

func check(_ result: QuoteCSV.Result) {
    guard case .quote(let symbol, let close) = result else { return }
    guard !symbol.isEmpty, !close.isNaN else { fatalError("a quote of \(symbol.debugDescription) at \(close)") }
    guard let code = StockCode(symbol), code.display == symbol else { fatalError("the symbol \(symbol.debugDescription) is not a stock code") }
    let reply = BotReply.quote(code, close: close).text
    guard reply.hasPrefix("\(symbol) quote is $"), reply.hasSuffix(" per share"), BotReply.isPlain(reply) else {
        fatalError("the reply \(reply.debugDescription) for \(symbol.debugDescription) at \(close)")
    }
}

/// `[+-]digits[.digits][(e|E)[+-]digits]` in ASCII, with a digit before or after the point.
func isDecimalNumber(_ text: String) -> Bool {
    var rest = text.utf8[...]
    func skip(_ bytes: String) { if let first = rest.first, bytes.utf8.contains(first) { rest.removeFirst() } }
    func digits() -> Int {
        let count = rest.prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }.count
        rest.removeFirst(count)
        return count
    }
    skip("+-")
    var count = digits()
    if rest.first == UInt8(ascii: ".") {
        rest.removeFirst()
        count += digits()
    }
    guard count > 0 else { return false }
    if let first = rest.first, first == UInt8(ascii: "e") || first == UInt8(ascii: "E") {
        rest.removeFirst()
        skip("+-")
        guard digits() > 0 else { return false }
    }
    return rest.isEmpty
}
