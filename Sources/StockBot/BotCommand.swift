import Foundation

/// What a chat command asks of the bot. The bot owns this vocabulary; the responder only knows that
/// a command starts with `/`.
public enum BotCommand: Equatable, Sendable {
    /// `/stock=CODE`, with a code that is safe to put in the quote URL.
    case stock(code: String)
    /// `/stock=` with an empty or malformed code.
    case badStockCode(String)
    /// Anything else.
    case unknown(String)

    public init(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("/stock=") else {
            self = .unknown(trimmed)
            return
        }
        let code = String(trimmed.dropFirst("/stock=".count))
        self = Self.isValidCode(code) ? .stock(code: code.lowercased()) : .badStockCode(code)
    }

    /// 1–20 of letters, digits and `. - _ ^` (stooq's codes: `aapl.us`, `^spx`, `eurusd`), so that a
    /// code can never change the URL it goes into.
    static func isValidCode(_ code: String) -> Bool {
        (1...20).contains(code.count) && code.unicodeScalars.allSatisfy {
            $0.isASCII && (("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || ".-_^".unicodeScalars.contains($0))
        }
    }

    public static let help = "I know one command: /stock=CODE, e.g. /stock=aapl.us for Apple on the US market."
    public static func usage(_ code: String) -> String {
        code.isEmpty
            ? "Which stock? Write /stock=CODE, e.g. /stock=aapl.us."
            : "'\(code.prefix(40))' is not a stock code I can look up: use letters, digits and . - _ ^ (e.g. /stock=aapl.us)."
    }
}
