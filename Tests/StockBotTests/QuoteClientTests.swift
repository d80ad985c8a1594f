import Foundation
@testable import StockBot
import Testing
import TestSupport

/// Hole 8: the bot's network reach. Redirects are followed only within the quote URL's scheme, host
/// and port (at most `maxRedirects`), only the quote URL's scheme is allowed, and libcurl refusing an
/// option is an error. Against quote servers on loopback (127.0.0.1 and, as "another host", 127.0.0.2).
@Suite(.serialized)
struct QuoteClientTests {
    static let aapl = StockCode("aapl.us")!

    static func code(_ text: String) -> StockCode { StockCode(text)! }

    @Test func aRedirectWithinTheQuoteHostIsFollowed() throws {
        let quotes = try QuoteServer()
        defer { quotes.stop() }
        quotes.redirects["moved.us"] = quotes.url(for: "aapl.us")
        quotes.redirects["relative.us"] = "/q/l/?s=aapl.us&f=sd2t2ohlcv&h&e=csv"
        quotes.redirects["twice.us"] = quotes.url(for: "moved.us")
        let client = QuoteClient(urlTemplate: quotes.urlTemplate)
        for code in ["moved.us", "relative.us", "twice.us"] {
            let body = try client.fetch(code: Self.code(code))
            #expect(try QuoteCSV.parse(body) == .quote(symbol: "AAPL.US", close: Decimal(string: "93.42")!), "\(code)")
        }
    }

    /// Another loopback address, another port on the same address, another scheme on the same port, a
    /// name for the same address: each is another origin, refused before it is contacted.
    @Test func aRedirectAnywhereElseIsRefusedAndNeverContacted() throws {
        let quotes = try QuoteServer()
        let otherHost = try QuoteServer(address: "127.0.0.2")
        let otherPort = try QuoteServer()
        defer { [quotes, otherHost, otherPort].forEach { $0.stop() } }
        quotes.redirects = [
            "host.us": otherHost.url(for: "aapl.us"),
            "port.us": otherPort.url(for: "aapl.us"),
            "scheme.us": "https://127.0.0.1:\(quotes.port)/q/l/?s=aapl.us",
            "name.us": "http://localhost:\(quotes.port)/q/l/?s=aapl.us",
            "userinfo.us": "http://127.0.0.1:\(quotes.port)@127.0.0.2:\(otherHost.port)/q/l/?s=aapl.us",
            "later.us": quotes.url(for: "host.us"),
        ]
        let client = QuoteClient(urlTemplate: quotes.urlTemplate)
        for code in ["host.us", "port.us", "scheme.us", "name.us", "userinfo.us", "later.us"] {
            #expect(throws: QuoteClient.Failure.redirectRefused(quoteHost: "127.0.0.1:\(quotes.port)"), "\(code)") {
                try client.fetch(code: Self.code(code))
            }
        }
        #expect(otherHost.codes.isEmpty && otherPort.codes.isEmpty)
        let failure = QuoteClient.Failure.redirectRefused(quoteHost: "127.0.0.1:\(quotes.port)")
        #expect(failure.description.contains("127.0.0.1:\(quotes.port)") && !failure.description.contains("/q/l/"))
    }

    @Test func redirectsAreBounded() throws {
        let quotes = try QuoteServer()
        defer { quotes.stop() }
        quotes.redirects["loop.us"] = quotes.url(for: "loop.us")
        let client = QuoteClient(urlTemplate: quotes.urlTemplate)
        #expect(throws: QuoteClient.Failure.transient("the quote server redirected more than 3 times")) {
            try client.fetch(code: Self.code("loop.us"))
        }
        #expect(quotes.codes.count == 4, "the first request and 3 redirects")
    }

    /// `totalTimeout` bounds the whole fetch: two redirects of 0.8 s each do not fit in 1 s, though
    /// each request alone would.
    @Test func theTimeoutBoundsTheFetchWithItsRedirects() throws {
        let quotes = try QuoteServer()
        defer { quotes.stop() }
        quotes.delays = ["hop1.us": 0.8, "hop2.us": 0.8]
        quotes.redirects = ["hop1.us": quotes.url(for: "hop2.us"), "hop2.us": quotes.url(for: "aapl.us")]
        var client = QuoteClient(urlTemplate: quotes.urlTemplate)
        client.totalTimeout = 1
        let started = ContinuousClock.now
        #expect(throws: QuoteClient.Failure.self) { try client.fetch(code: Self.code("hop1.us")) }
        #expect(started.duration(to: .now) < .milliseconds(1500))
        #expect(!quotes.codes.contains("aapl.us"))
    }

    /// libcurl refuses a negative timeout (`CURLE_BAD_FUNCTION_ARGUMENT`): found by the start-up probe,
    /// and by a fetch, which then asks nothing of the server.
    @Test func anOptionLibcurlRefusesIsReported() throws {
        let quotes = try QuoteServer()
        defer { quotes.stop() }
        var client = QuoteClient(urlTemplate: quotes.urlTemplate)
        #expect(try client.checkConfiguration().description == "127.0.0.1:\(quotes.port)")
        client.connectTimeout = -1
        let broken = client
        let attempts: [() throws -> Void] = [{ _ = try broken.checkConfiguration() }, { _ = try broken.fetch(code: Self.aapl) }]
        for attempt in attempts {
            do {
                try attempt()
                Issue.record("a negative connect timeout was accepted")
            } catch let failure as QuoteClient.Failure {
                guard case .misconfigured(let text) = failure else { Issue.record("\(failure)"); continue }
                #expect(text.contains("curl_easy_setopt(CURLOPT_CONNECTTIMEOUT, -1) failed"), "\(text)")
            }
        }
        #expect(quotes.codes.isEmpty)
    }

    @Test(arguments: ["ftp://127.0.0.1/{code}", "file:///tmp/{code}", "gopher://127.0.0.1/{code}", "dict://127.0.0.1/{code}",
                      "127.0.0.1/q?s={code}", "http://{code}.example/q", "http://127.0.0.1:{code}/q", "{code}", "not a url {code}"])
    func aQuoteURLThatIsNotHTTPOrHTTPSIsRefusedAtStart(_ template: String) {
        #expect(throws: QuoteClient.Failure.self) { try QuoteClient(urlTemplate: template).checkConfiguration() }
        var configuration = StockBotConfiguration()
        configuration.quoteURL = template
        #expect(throws: QuoteClient.Failure.self) { try configuration.quoteClient() }
    }

    @Test func theDefaultQuoteURLPassesTheProbe() throws {
        let origin = try QuoteClient(urlTemplate: QuoteClient.defaultTemplate).checkConfiguration()
        #expect(origin == QuoteClient.Origin(scheme: "https", host: "stooq.com", port: "443"))
    }
}
