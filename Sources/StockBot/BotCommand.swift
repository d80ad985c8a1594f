import Foundation

/// A stock code that passed the bot's grammar: 1–20 of ASCII letters, digits and `. - _ ^`
/// (stooq's codes: `aapl.us`, `^spx`, `eurusd`). Only `init?(_:)` makes one, so a code in a reply or
/// a URL has always been checked, and it can never hold a line break, a control or format character,
/// a space or anything else that is not visible ASCII.
public struct StockCode: Hashable, Sendable, CustomStringConvertible {
    /// Lower-cased: what goes into the quote URL.
    public let value: String
    /// Upper-cased: how the bot's replies name it (`AAPL.US`).
    public var display: String { value.uppercased() }
    public var description: String { display }

    public static let maxLength = 20

    /// Checked byte by byte on the UTF-8, so that no Unicode case mapping or grapheme rule is involved.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard (1...Self.maxLength).contains(bytes.count), bytes.allSatisfy(Self.isCodeByte) else { return nil }
        value = String(decoding: bytes.map(Self.lowercased), as: UTF8.self)
    }

    static func isCodeByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "^"):
            true
        default:
            false
        }
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}

/// What a chat command asks of the bot. The bot owns this vocabulary; the responder only knows that
/// a command starts with `/`. Nothing the user wrote is kept but a validated code, so no reply can
/// repeat the user's text.
public enum BotCommand: Equatable, Sendable {
    /// `/stock=CODE` (the command in any ASCII letter case), with a code that passed the grammar.
    case stock(StockCode)
    /// `/stock=` with an empty or malformed code.
    case badStockCode(CodeProblem)
    /// Anything else.
    case unknown

    public enum CodeProblem: Equatable, Sendable {
        case empty
        case invalid
    }

    static let prefix = Array("/stock=".utf8)

    public init(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // Compared as ASCII bytes: `lowercased()` would also take the Kelvin sign for a `k`.
        let bytes = Array(trimmed.utf8)
        guard bytes.count >= Self.prefix.count,
              zip(bytes, Self.prefix).allSatisfy({ StockCode.lowercased($0) == $1 }) else {
            self = .unknown
            return
        }
        let rest = bytes.dropFirst(Self.prefix.count)
        if rest.isEmpty {
            self = .badStockCode(.empty)
        } else if let code = StockCode(String(decoding: rest, as: UTF8.self)) {
            self = .stock(code)
        } else {
            self = .badStockCode(.invalid)
        }
    }

    /// The grammar, for a quote server's Symbol field.
    static func isValidCode(_ code: String) -> Bool { StockCode(code) != nil }
}

/// Everything the bot can say. Each text is fixed but for a validated `StockCode` and a price the
/// bot formatted itself: never the user's input, never a quote server's text. `text` is visible
/// ASCII only (checked by `isPlain`, and again by the worker before it writes a reply).
public enum BotReply: Equatable, Sendable {
    case quote(StockCode, close: Decimal)
    case noQuote(StockCode)
    case help
    case usage(BotCommand.CodeProblem)
    /// A quote that kept failing (transport, HTTP status, malformed CSV) after `attempts` tries.
    case gaveUp(StockCode, attempts: Int)
    /// The quote service redirected to another scheme, host or port.
    case redirectRefused(StockCode)
    /// libcurl refused an option or a query: the bot is broken, not the quote service.
    case botFault(StockCode)

    public static let helpText = "I know one command: /stock=CODE, e.g. /stock=aapl.us for Apple on the US market."
    public static let emptyCodeText = "Which stock? Write /stock=CODE, e.g. /stock=aapl.us."
    public static let invalidCodeText =
        "That is not a stock code I can look up: use 1 to 20 letters, digits and . - _ ^ (e.g. /stock=aapl.us)."

    public var text: String {
        switch self {
        case .quote(let code, let close): "\(code.display) quote is $\(Self.format(close)) per share"
        case .noQuote(let code): "no quote for \(code.display)"
        case .help: Self.helpText
        case .usage(.empty): Self.emptyCodeText
        case .usage(.invalid): Self.invalidCodeText
        case .gaveUp(let code, let attempts):
            "Sorry, I could not get a quote for \(code.display) after \(attempts) tries. Please try again later."
        case .redirectRefused(let code):
            "Sorry, I could not get a quote for \(code.display): the quote service answered with a redirect elsewhere."
        case .botFault(let code):
            "Sorry, I could not get a quote for \(code.display): the bot has a fault. Its operator has been told in its log."
        }
    }

    /// Printable ASCII (space to `~`) only: no line break, control, format (bidi, zero-width) or
    /// other invisible or look-alike character.
    public static func isPlain(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// The close with two decimals, `en_US_POSIX`: `93.42`, `1234.50`.
    static func format(_ close: Decimal) -> String {
        var value = close
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 2, .plain)
        let formatter = NumberFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.minimumFractionDigits = 2
        formatter.maximumFractionDigits = 2
        formatter.minimumIntegerDigits = 1
        formatter.usesGroupingSeparator = false
        return formatter.string(from: rounded as NSDecimalNumber) ?? "\(rounded)"
    }
}
