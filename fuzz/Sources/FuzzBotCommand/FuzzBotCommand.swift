import Foundation
import StockBot

// One input is a chat message (UTF-8 with repairs), read as a bot command. A `/stock=CODE` command
// must carry a code of 1-20 of `a-z 0-9 . - _ ^`, and its quote URL must be the template with only
// the `s=` value changed, decoding back to the code. The message itself is also put into the URL
// as a code (QuoteClient.url(for:) is public): whatever the string, the URL must keep its scheme,
// host, path and other query parameters, and its `s=` value must decode back to the string.

let client = QuoteClient(urlTemplate: QuoteClient.defaultTemplate)
/// The default template around `{code}`.
let urlPrefix = "https://stooq.com/q/l/?s="
let urlSuffix = "&f=sd2t2ohlcv&h&e=csv"
/// What a stock code may be made of, once lower-cased.
let codeScalars = Set("abcdefghijklmnopqrstuvwxyz0123456789.-_^".unicodeScalars)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    switch BotCommand(text) {
    case .stock(let stockCode):
        let code = stockCode.value
        guard (1...20).contains(code.count), code.unicodeScalars.allSatisfy(codeScalars.contains) else {
            fatalError("accepted the stock code \(code.debugDescription)")
        }
        let url = client.url(for: code)
        checkURL(url, code: code)
        // With only ASCII letters, digits and `. - _ %` in it, Foundation's parser must agree.
        guard let components = URLComponents(string: url), components.scheme == "https",
              components.host == "stooq.com", components.path == "/q/l/",
              components.queryItems?.map(\.name) == ["s", "f", "h", "e"],
              components.queryItems?.first?.value == code
        else { fatalError("the quote URL for \(code.debugDescription) is \(url)") }
        checkReply(.noQuote(stockCode))
    case .badStockCode(let problem):
        checkReply(.usage(problem))
    case .unknown:
        checkReply(.help)
    }
    checkURL(client.url(for: text), code: text)
    return 0
}

/// `url` is the template with the `s=` value alone changed: that value has no character that ends
/// or restructures a URL's query (`& # ? / =`, space, controls) and percent-decodes to `code`.
func checkURL(_ url: String, code: String) {
    guard url.utf8.count >= urlPrefix.utf8.count + urlSuffix.utf8.count,
          url.utf8.starts(with: urlPrefix.utf8), url.utf8.reversed().starts(with: urlSuffix.utf8.reversed())
    else { fatalError("the quote URL for \(code.debugDescription) is \(url.debugDescription)") }
    let value = String(decoding: url.utf8.dropFirst(urlPrefix.utf8.count).dropLast(urlSuffix.utf8.count), as: UTF8.self)
    guard value.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F && !"&#?/=+;{}\\\"'<>`| ".utf8.contains($0) }),
          value.removingPercentEncoding == code
    else { fatalError("the s= value for \(code.debugDescription) is \(value.debugDescription)") }
}

/// Every reply is printable ASCII and, but for a validated code, fixed: the message never reaches it.
func checkReply(_ reply: BotReply) {
    guard BotReply.isPlain(reply.text) else { fatalError("the reply \(reply.text.debugDescription) is not plain ASCII") }
}
