import Foundation
@testable import StockBot
import Testing

/// Hole 7: the bot repeated what it was sent (`/stock=Admin\nnotice\u{202E}:` came back with the line
/// break and the bidi override in a `stockbot` message). A reply is now fixed text, a validated code
/// and a formatted price: nothing the user or the quote server wrote.
struct BotReplyTests {
    /// Codes that must never pass, and so never appear in a reply or a URL.
    static let hostileCodes: [String] = [
        "Admin\nnotice\u{202E}:", "aapl.us\n", "aa\npl.us", "aapl.us\r", "aa\rpl.us", "aapl.us\r\nnotice: hi",
        "aapl\u{1}.us", "\u{7}", "aapl\u{1B}[31m", "aapl\u{7F}", "aapl\u{85}us", "aapl\tus", "aapl\u{2028}us",
        "aapl\u{202E}.us", "\u{202E}su.lpaa", "aapl\u{2066}.us", "aapl\u{2067}.us", "aapl\u{2068}.us", "aapl.us\u{2069}",
        "aapl\u{200B}.us", "\u{FEFF}aapl.us", "aapl\u{200D}.us", "aapl.us\u{301}", "a\u{301}apl.us", "\u{301}aapl.us",
        String(repeating: "a", count: 21), String(repeating: "A", count: 5000), "aapl us", "aapl.us extra", " aapl.us x",
        "aapl\u{A0}us", "aapl\u{3000}us", "ａａｐｌ", "аapl.us", "aapl.us;rm", "aapl.us&s=evil", "stoc\u{212A}",
    ]

    @Test(arguments: hostileCodes)
    func aHostileCodeGetsTheFixedUsageHint(_ code: String) {
        let command = BotCommand("/stock=\(code)")
        #expect(command == .badStockCode(.invalid), "\(code.debugDescription)")
        #expect(StockCode(code) == nil)
        #expect(BotReply.usage(.invalid).text == BotReply.invalidCodeText)
    }

    @Test func theReportedCommandComesBackAsTheFixedHint() {
        #expect(BotCommand("/stock=Admin\nnotice\u{202E}:") == .badStockCode(.invalid))
        let text = BotReply.usage(.invalid).text
        #expect(!text.contains("Admin") && !text.contains("notice") && BotReply.isPlain(text))
    }

    @Test(arguments: ["/stock=", "/STOCK=", "/Stock=   "])
    func anEmptyCodeAsksWhichStock(_ command: String) {
        #expect(BotCommand(command) == .badStockCode(.empty))
        #expect(BotReply.usage(.empty).text == "Which stock? Write /stock=CODE, e.g. /stock=aapl.us.")
    }

    @Test func theCommandIsAnyASCIICaseAndTheCodeIsUpperCasedInTheReply() throws {
        let command = BotCommand("/STOCK=AAPL.US")
        #expect(command == .stock(try #require(StockCode("aapl.us"))))
        guard case .stock(let code) = command else { return }
        #expect(BotReply.noQuote(code).text == "no quote for AAPL.US")
        #expect(BotCommand("/sToCk=^Spx") == .stock(try #require(StockCode("^spx"))))
    }

    /// Only ASCII case folds: the Kelvin sign lower-cases to `k`, a long s to itself, a control char
    /// ORed with 0x20 could look like `/`; none of these is `/stock=`.
    @Test(arguments: ["/stoc\u{212A}=aapl.us", "/\u{17F}tock=aapl.us", "\u{0F}stock=aapl.us", "/\u{200B}stock=aapl.us",
                      "\u{202E}/stock=aapl.us", "/stock\u{301}=aapl.us", "/stock =aapl.us", "/stock:aapl.us",
                      "/help\n\u{202E}Admin: you are banned", "/stocks aapl", "/" + String(repeating: "x", count: 5000)])
    func otherCommandsGetTheFixedHelpWithoutTheirText(_ command: String) {
        #expect(BotCommand(command) == .unknown, "\(command.debugDescription)")
        #expect(BotReply.help.text == BotReply.helpText)
    }

    /// Every reply the bot can make, with extreme codes and prices, is printable ASCII.
    @Test func everyReplyIsPlainASCII() throws {
        let codes = try ["a", "^spx", "aapl.us", String(repeating: "z", count: 20), "a-b_c.d^e"].map { try #require(StockCode($0)) }
        let closes = ["0.001", "0.005", "93.42", "999999999999.999", "1e-20"].map { Decimal(string: $0)! }
        var replies: [BotReply] = [.help, .usage(.empty), .usage(.invalid)]
        for code in codes {
            replies += [.noQuote(code), .gaveUp(code, attempts: 3), .redirectRefused(code), .botFault(code)]
            replies += closes.map { .quote(code, close: $0) }
        }
        for reply in replies {
            #expect(BotReply.isPlain(reply.text), "\(reply.text.debugDescription)")
            #expect(!reply.text.isEmpty && reply.text.utf8.count < 200)
        }
        #expect(BotReply.redirectRefused(codes[2]).text.contains("the quote service answered with a redirect elsewhere"))
    }

    @Test(arguments: ["a\nb", "a\rb", "\u{202E}", "\u{2066}", "\u{200B}", "\u{FEFF}", "e\u{301}", "\u{7F}", "\t", "é"])
    func isPlainRefusesInvisibleAndNonASCII(_ text: String) {
        #expect(!BotReply.isPlain("x\(text)x"))
    }
}

/// The quote server's text never reaches a reply: its Symbol must be a stock code or the answer is
/// malformed, and the reply names the code the user asked for, not the server's symbol.
struct QuoteServerTextTests {
    @Test(arguments: ["AAPL\nnotice: admin", "AAPL.US\u{202E}", "\u{2066}AAPL.US\u{2069}", "AAPL\u{200B}.US", "\u{FEFF}AAPL.US",
                      "AAPL.US\u{301}", "AAPL\u{1B}[2J", "AAPL\rUS", "BUY NOW", String(repeating: "A", count: 21)])
    func aSymbolThatIsNotAStockCodeIsMalformed(_ symbol: String) {
        #expect(throws: QuoteCSV.Malformed.self) { try QuoteCSV.parse("Symbol,Close\r\n\(symbol),93.42\r\n") }
    }

    @Test func malformedDescriptionsDoNotQuoteTheServer() {
        for body in ["Symbol,Close\r\nAAPL.US,9\u{202E}3\r\n", "Symbol,Close\r\nAAPL.US,\u{1B}[2J\r\n", "Symbol,Close\r\nAAPL\u{202E},1\r\n"] {
            do {
                _ = try QuoteCSV.parse(body)
                Issue.record("parsed \(body.debugDescription)")
            } catch {
                #expect(BotReply.isPlain(error.description), "\(error.description.debugDescription)")
            }
        }
    }
}
