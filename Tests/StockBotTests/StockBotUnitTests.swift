import Foundation
@testable import StockBot
import Testing

struct BotCommandTests {
    static func code(_ text: String) -> StockCode { StockCode(text)! }

    @Test func readsStockCommandsInAnyCase() {
        #expect(BotCommand("/stock=aapl.us") == .stock(Self.code("aapl.us")))
        #expect(BotCommand("/STOCK=AAPL.US") == .stock(Self.code("aapl.us")))
        #expect(BotCommand("  /stock=^spx ") == .stock(Self.code("^spx")))
        #expect(Self.code("AAPL.US").value == "aapl.us" && Self.code("aapl.us").display == "AAPL.US")
    }

    @Test(arguments: ["aapl.us&s=evil", "a/b", "../x", "aapl us", "x%2Fy", String(repeating: "a", count: 21), "é"])
    func refusesCodesThatCouldChangeTheURL(_ code: String) {
        #expect(BotCommand("/stock=\(code)") == .badStockCode(.invalid))
        #expect(StockCode(code) == nil)
    }

    @Test func anEmptyCodeIsItsOwnProblem() {
        #expect(BotCommand("/stock=") == .badStockCode(.empty))
        #expect(BotCommand("/stock=  ") == .badStockCode(.empty))
    }

    @Test func anythingElseGetsHelp() {
        #expect(BotCommand("/help") == .unknown)
        #expect(BotCommand("/stocks aapl") == .unknown)
    }
}

struct QuoteCSVTests {
    let header = "Symbol,Date,Time,Open,High,Low,Close,Volume"

    @Test func readsTheSymbolAndTheClose() throws {
        let result = try QuoteCSV.parse("\(header)\r\naapl.us,2026-11-20,22:00:09,92.1,94,91.5,93.42,51234567\r\n")
        #expect(result == .quote(symbol: "AAPL.US", close: Decimal(string: "93.42")!))
    }

    @Test func toleratesWhitespaceAndPlainNewlines() throws {
        let result = try QuoteCSV.parse("  \(header) \n AAPL.US , 2026-11-20 , 22:00:09 , 92.1 , 94 , 91.5 , 93.4 , 5 \n\n")
        #expect(result == .quote(symbol: "AAPL.US", close: Decimal(string: "93.4")!))
    }

    @Test func aQuotedFieldMayHoldCommasAndQuotes() throws {
        let text = "Symbol,Name,Date,Time,Open,High,Low,Close,Volume\r\n"
            + "AAPL.US,\"AAPL, Inc. \"\"the\"\" apple\",2026-11-21,22:00:09,271.81,273.33,266.47,271.49,59030832\r\n"
        #expect(try QuoteCSV.parse(text) == .quote(symbol: "AAPL.US", close: Decimal(string: "271.49")!))
        #expect(try QuoteCSV.parse("Symbol,Close\r\n\"AAPL.US\", \"93.42\"\r\n") == .quote(symbol: "AAPL.US", close: Decimal(string: "93.42")!))
    }

    /// Split on every comma, this row has the header's three fields, a stock code and a price.
    @Test func aQuotedCommaDoesNotSeparateFields() {
        #expect(throws: QuoteCSV.Malformed.self) { try QuoteCSV.parse("Symbol,Name,Close\r\n\"AAPL.US,x\",93.42\r\n") }
    }

    @Test func nDFieldsMeanAnUnknownSymbol() throws {
        #expect(try QuoteCSV.parse("\(header)\r\nXYZ.US,N/D,N/D,N/D,N/D,N/D,N/D,N/D\r\n") == .unknownSymbol)
    }

    @Test(arguments: ["", "\r\n", "<html>oops</html>", "Symbol,Date\r\nAAPL,2026", "\(["Symbol", "Close"].joined(separator: ","))",
                      "Symbol,Date,Time,Open,High,Low,Close,Volume\r\nAAPL.US,2026-11-20,22:00,1,2,3",
                      "Symbol,Date,Time,Open,High,Low,Close,Volume\r\nAAPL.US,2026-11-20,22:00,1,2,3,abc,5",
                      // The symbol goes into the reply: a server cannot make the bot say something else.
                      "Symbol,Close\r\nBUY NOW AT evil.example,1", "Symbol,Close\r\n\(String(repeating: "A", count: 5000)),1", "Symbol,Close\r\n,1"])
    func malformedCSVIsAnErrorToRetry(_ text: String) {
        #expect(throws: QuoteCSV.Malformed.self) { try QuoteCSV.parse(text) }
    }

    @Test func repliesWithTwoDecimals() {
        let code = BotCommandTests.code
        #expect(BotReply.quote(code("aapl.us"), close: Decimal(string: "93.42")!).text == "AAPL.US quote is $93.42 per share")
        #expect(BotReply.quote(code("x"), close: Decimal(string: "93.4")!).text == "X quote is $93.40 per share")
        #expect(BotReply.quote(code("x"), close: Decimal(string: "0.125")!).text == "X quote is $0.13 per share")
        #expect(BotReply.quote(code("x"), close: Decimal(string: "1234.5")!).text == "X quote is $1234.50 per share")
        #expect(BotReply.quote(code("x"), close: Decimal(string: "999999999999.99")!).text == "X quote is $999999999999.99 per share")
    }
}

struct RetryPolicyTests {
    @Test func backoffDoubles() {
        var configuration = StockBotConfiguration()
        configuration.retryBackoff = 1.5
        #expect(configuration.retryDelay(afterAttempts: 1) == 1.5)
        #expect(configuration.retryDelay(afterAttempts: 2) == 3)
        #expect(configuration.retryDelay(afterAttempts: 3) == 6)
    }

    @Test func codesArePercentEncodedIntoTheTemplate() {
        let client = QuoteClient(urlTemplate: "http://q/?s={code}&f=x")
        #expect(client.url(for: "aapl.us") == "http://q/?s=aapl.us&f=x")
        #expect(client.url(for: "^spx") == "http://q/?s=%5Espx&f=x")
    }
}
