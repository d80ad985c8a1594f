import Foundation
import HTTP
import Testing
@testable import TradedeskApp

/// `Authenticated.bearerToken` reads the common header without Foundation; every header gives the
/// token the plain reading gave.
struct BearerTokenTests {
    /// The reading before: lower-case the header, check the prefix, trim Unicode whitespace.
    func plainReading(_ header: String) -> String? {
        guard header.lowercased().hasPrefix("bearer ") else { return nil }
        return header.dropFirst(7).trimmingCharacters(in: .whitespaces)
    }

    @Test func everyHeaderGivesTheTokenThePlainReadingGave() throws {
        var headers = ["Bearer abc", "bearer abc", "BEARER abc", "BeArEr tok_123-._~+/=", "Bearer  abc ", "Bearer\tabc", "Bearer",
                       "Bearer ", "Bearer a", "Basic abc", "Bearerabc", "Bearer\u{0}abc", "Bearer abc\u{A0}", "Bearer \u{3000}abc",
                       "Bearer \u{301}abc", "Bearer é", "Bearer abc é", "Bearer a b", "Bearer abc\t", "bearer\u{0}x", "Bearer \u{0}",
                       "\u{212A}earer abc", "Bearer abc\u{7F}", "Bearer \"quoted\"", " Bearer abc", "Bearer" + String(repeating: " ", count: 3)]
        let alphabet = Array("Bb eEaArR\t\u{A0}\u{301}é0x~".unicodeScalars)
        for _ in 0..<5_000 {
            var header = "Bearer "
            for _ in 0..<Int.random(in: 0...4) { header.unicodeScalars.append(alphabet.randomElement()!) }
            if Bool.random() { header = String(header.unicodeScalars.shuffled().map(Character.init)) }
            headers.append(header)
        }
        for header in headers {
            let request = try HTTPRequest(params: ["REQUEST_URI": "/api/orders", "HTTP_AUTHORIZATION": header])
            #expect(Authenticated.bearerToken(request) == plainReading(header), "\(header.debugDescription)")
        }
        #expect(Authenticated.bearerToken(try HTTPRequest(params: ["REQUEST_URI": "/"])) == nil)
    }
}
