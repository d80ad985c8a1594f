import Chat
import Foundation
import HTTP
import Testing
@testable import TradedeskApp

/// The hand-written JSON of message lists is exactly what `JSONEncoder` writes for them.
struct MessageListJSONTests {
    @Test func messageListJSONIsWhatTheEncoderWrites() throws {
        var texts = ["hello", "", "quote \" backslash \\ slash / </script>", "tab\tline\nreturn\r", "é 中文 🚀 e\u{301}",
                     "\u{2028}\u{2029}\u{202E}\u{200B}\u{FEFF}\u{7F}", "{\"json\": [1, 2]}"]
        texts += (0..<0x20).map { "c\(String(UnicodeScalar(UInt8($0))))c" }
        let base = Date(timeIntervalSince1970: 1_800_000_000.123)
        let messages = texts.enumerated().map { index, text in
            Message(id: Int64(index + 1), roomID: Int64(index % 3 + 1), author: index == 2 ? "a\"b\\c" : "alice",
                    text: text, bot: index % 2 == 0, createdAt: base.addingTimeInterval(Double(index) * 0.001))
        }
        for list in [[], Array(messages.prefix(1)), messages] {
            let written = MessageListJSON.encode(list)
            let encoded = HTTPResponse.json(list.map(MessageBody.init)).body
            #expect(written == encoded, "\(String(decoding: written, as: UTF8.self))\n\(String(decoding: encoded, as: UTF8.self))")
        }
        let response = MessageListJSON.response(messages)
        #expect(response.status == 200)
        #expect(response.headers.map(\.name.rawName) == ["Content-Type"] && response.headers.map(\.value) == ["application/json"])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]])
        #expect(parsed.compactMap { $0["text"] as? String } == texts)
    }
}
