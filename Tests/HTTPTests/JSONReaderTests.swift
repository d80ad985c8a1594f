import Foundation
@testable import HTTP
import HTTPTesting
import Testing

struct JSONReaderTests {
    func read(_ text: String) throws(JSONReader.Failure) -> JSONValue { try JSONReader.read(Array(text.utf8)) }

    func reason(_ bytes: [UInt8]) -> JSONReader.Failure.Reason? {
        do {
            _ = try JSONReader.read(bytes)
            return nil
        } catch {
            return error.reason
        }
    }

    func reason(_ text: String) -> JSONReader.Failure.Reason? { reason(Array(text.utf8)) }

    @Test func readsEveryKindOfValue() throws {
        let value = try read(#" {"a": [1, -2.5e3, true, false, null, "x"], "b": {}, "c": [], "d": {"e": "\"\\\/\b\f\n\r\t\u00e9\ud83d\ude80"}} "#)
        guard case .object(let object) = value else { Issue.record("\(value)"); return }
        #expect(object.keys == ["a", "b", "c", "d"])
        #expect(object["a"] == .array([.number(JSONNumber(text: "1")), .number(JSONNumber(text: "-2.5e3")), .bool(true), .bool(false),
                                       .null, .string("x")]))
        #expect(object["b"] == .object(JSONObject([])))
        #expect(object["c"] == .array([]))
        #expect(object["d"] == .object(JSONObject([.init(key: "e", value: .string("\"\\/\u{8}\u{C}\n\r\té🚀"))])))
        #expect(object["z"] == nil)
        for (text, expected) in [("0", JSONValue.number(JSONNumber(text: "0"))), ("-0.0E+1", .number(JSONNumber(text: "-0.0E+1"))),
                                 (#""""#, .string("")), ("null", .null), (#""\u0000""#, .string("\u{0}")), ("[[]]", .array([.array([])]))] {
            #expect(try read(text) == expected, "\(text)")
        }
        // UTF-8 as it is, in keys and values.
        #expect(try read(#"{"é中🚀":"e\#u{301}"}"#) == .object(JSONObject([.init(key: "é中🚀", value: .string("e\u{301}"))])))
    }

    @Test func refusesWhatIsNotJSON() {
        let cases: [(String, JSONReader.Failure.Reason)] = [
            ("", .unexpectedEnd), ("  ", .unexpectedEnd), ("{", .unexpectedEnd), (#"{"a""#, .unexpectedEnd), (#"{"a":"#, .unexpectedEnd),
            (#""abc"#, .unexpectedEnd), ("[1", .unexpectedEnd), ("tru", .unexpectedEnd), ("-", .unexpectedEnd), ("1.", .unexpectedEnd),
            ("1e", .unexpectedEnd), ("1e+", .unexpectedEnd), (#""\u12"#, .unexpectedEnd),
            ("{a:1}", .unexpectedByte), ("{'a':1}", .unexpectedByte), ("NaN", .unexpectedByte), ("Infinity", .unexpectedByte),
            ("+1", .unexpectedByte), (".5", .unexpectedByte), ("1.x", .unexpectedByte), ("-x", .unexpectedByte), ("0x10", .bytesAfterValue),
            ("trUe", .unexpectedByte), ("nul1", .unexpectedByte), (#"{"a" 1}"#, .unexpectedByte), (#"{"a":1 "b":2}"#, .unexpectedByte),
            ("[1 2]", .unexpectedByte), ("[,1]", .unexpectedByte), ("{,}", .unexpectedByte), (#"{"a":1,,"b":2}"#, .unexpectedByte),
            ("01", .leadingZero), ("-01", .leadingZero), ("00", .leadingZero),
            ("1 2", .bytesAfterValue), ("{}{}", .bytesAfterValue), ("{} x", .bytesAfterValue), ("null\u{0}", .bytesAfterValue),
            ("[1,]", .trailingComma), (#"{"a":1,}"#, .trailingComma), (#"{"a":1 , }"#, .trailingComma),
            (#"{"a":1,"a":2}"#, .duplicateKey("a")), (#"{"a":{"b":1,"b":1}}"#, .duplicateKey("b")),
            (#"{"\u0061":1,"a":2}"#, .duplicateKey("a")),
            ("\"a\tb\"", .controlCharacterInString), ("\"a\nb\"", .controlCharacterInString), ("\"\\\u{1}\"", .invalidEscape),
            (#""\x""#, .invalidEscape), (#""\U0041""#, .invalidEscape), (#""\u00G0""#, .invalidEscape), (#""\'""#, .invalidEscape),
            (#""\ud800""#, .unpairedSurrogate), (#""\ud800x""#, .unpairedSurrogate), (#""\ud800\u0041""#, .unpairedSurrogate),
            (#""\udc00""#, .unpairedSurrogate), (#""\udfff\ud800""#, .unpairedSurrogate),
            ("\u{A0}1", .unexpectedByte), ("\u{C}1", .unexpectedByte),
        ]
        for (text, expected) in cases {
            #expect(reason(text) == expected, "\(text.debugDescription)")
        }
    }

    @Test func refusesAnythingButUTF8() {
        let body = Array(#"{"a":"b"}"#.utf8)
        #expect(reason([0xEF, 0xBB, 0xBF] + body) == .byteOrderMark)
        #expect(reason(Array(#"{"a":"b"}"#.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }) == .unexpectedByte)
        #expect(reason([0xFF, 0xFE] + Array(#"{"a":"b"}"#.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }) == .unexpectedByte)
        for bad: [UInt8] in [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]] {
            #expect(reason(Array(#"{"a":""#.utf8) + bad + Array(#""}"#.utf8)) == .invalidUTF8, "\(bad)")
            #expect(reason(Array(#"{""#.utf8) + bad + Array(#"":1}"#.utf8)) == .invalidUTF8, "\(bad)")
            // After an escape, too (the slower path).
            #expect(reason(Array(#"{"a":"\n"#.utf8) + bad + Array(#""}"#.utf8)) == .invalidUTF8, "\(bad)")
        }
    }

    @Test func nestsAsDeepAsJSONSerializationAndNoDeeper() throws {
        let deepest = String(repeating: "[", count: JSONReader.maximumDepth) + String(repeating: "]", count: JSONReader.maximumDepth)
        _ = try read(deepest)
        #expect(reason("[" + deepest + "]") == .tooDeep)
        #expect((try? JSONSerialization.jsonObject(with: Data(("[" + deepest + "]").utf8))) == nil, "the same limit as Foundation's")
        #expect(reason(String(repeating: #"{"a":"#, count: 600) + "1" + String(repeating: "}", count: 600)) == .tooDeep)
        #expect(reason(String(repeating: "[", count: 100_000)) == .tooDeep, "refused before its end, without deep recursion")
    }

    @Test func findsADuplicateKeyAmongMany() throws {
        let members = (0..<5_000).map { #""k\#($0)":\#($0)"# }
        guard case .object(let object) = try read("{" + members.joined(separator: ",") + "}") else { Issue.record("not an object"); return }
        #expect(object.members.count == 5_000)
        #expect(reason("{" + (members + [#""k4321":0"#]).joined(separator: ",") + "}") == .duplicateKey("k4321"))
        #expect(reason("{" + (members.prefix(3) + [#""k0":0"#]).joined(separator: ",") + "}") == .duplicateKey("k0"))
    }

    @Test func saysWhereTheBodyWentWrong() {
        #expect(throws: JSONReader.Failure(reason: .duplicateKey("a"), offset: 7)) { try read(#"{"a":1,"a":2}"#) }
        #expect(throws: JSONReader.Failure(reason: .trailingComma, offset: 7)) { try read(#"{"a":1,}"#) }
        #expect(JSONReader.Failure(reason: .duplicateKey("a"), offset: 7).description == #"the key "a" appears twice in one object around character 7"#)
    }

    /// Whatever Foundation's parser reads, the reader reads as the same value, except what it
    /// refuses on purpose; whatever Foundation's parser refuses, it refuses too.
    static func hasNumberBeyondDouble(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let number): !(Double(number.text)?.isFinite ?? false)
        case .array(let values): values.contains(where: hasNumberBeyondDouble)
        case .object(let object): object.members.contains { hasNumberBeyondDouble($0.value) }
        default: false
        }
    }

    @Test func agreesWithJSONSerializationOnRandomDamage() throws {
        let good = Array(#"{"a":[1,-2.5e3,true,null,"x\u00e9\n"],"b":{"c":0.5},"d":""}"#.utf8)
        let alphabet = Array(#"0123456789.eE+-"{}[],: \untrfalsx"#.utf8) + [0x00, 0x09, 0xC3, 0xA9, 0xFF]
        var compared = 0
        for _ in 0..<5_000 {
            let body = randomlyDamaged(good, alphabet: alphabet)
            let foundation = try? JSONSerialization.jsonObject(with: Data(body), options: .fragmentsAllowed)
            let mine = try? JSONReader.read(body)
            if foundation == nil {
                // Numbers are kept as text, so one past Double's range (a damaged exponent) is JSON
                // to the reader, which Foundation refuses; the routes refuse it when they read it.
                if let mine, Self.hasNumberBeyondDouble(mine) { continue }
                #expect(mine == nil, "\(String(decoding: body, as: UTF8.self))")
                continue
            }
            guard let mine else {
                // Refused on purpose: a key twice, or a comma before the end.
                let reason = reason(body)
                switch reason {
                case .duplicateKey?, .trailingComma?: break
                default: Issue.record("refused \(String(decoding: body, as: UTF8.self)): \(String(describing: reason))")
                }
                continue
            }
            compared += 1
            #expect(NSDictionary(dictionary: ["v": Self.foundationObject(mine)]).isEqual(to: ["v": foundation!]),
                    "\(String(decoding: body, as: UTF8.self))")
        }
        #expect(compared > 100)
    }

    static func foundationObject(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let bool): bool
        case .number(let number): try! JSONSerialization.jsonObject(with: Data(number.text.utf8), options: .fragmentsAllowed)
        case .string(let string): string
        case .array(let array): array.map(foundationObject)
        case .object(let object): Dictionary(object.members.map { ($0.key, foundationObject($0.value)) }) { a, _ in a }
        }
    }

    @Test(arguments: [
        ("1", 1, 0), ("-3", -3, 0), ("1.0842", 10842, -4), ("1.50000000000000000000", 15, -1), ("100", 1, 2), ("100e-2", 1, 0),
        ("1E+2", 1, 2), ("1.5e-3", 15, -4), ("0", 0, 0), ("-0.000", 0, 0), ("0.000001", 1, -6),
        ("123456789012345678", 123456789012345678, 0), ("0.1e64", 1, 63), ("1e-64", 1, -64), ("1e0000000000000000000000000001", 1, 1),
    ] as [(String, Int64, Int)])
    func numbersAreSignificandAndExponent(text: String, significand: Int64, exponent: Int) throws {
        let parts = try #require(JSONNumber(text: text).decimalParts)
        #expect(parts.significand == significand && parts.exponent == exponent, "\(parts)")
    }

    @Test(arguments: ["1234567890123456789", "9223372036854775808", "1e65", "1e-65", "0e999", "1e400", "1e-400",
                      "1.000000000000000000000000000000000000000001", "1e99999999999999999999"])
    func numbersBeyondAnInt64AreLeftToTheCaller(text: String) {
        #expect(JSONNumber(text: text).decimalParts == nil)
    }
}

struct JSONWriterTests {
    struct Sample: Encodable {
        let text: String
        let number: Int64
        let missing: Int64?
        let nested: [Inner]
        let flag: Bool

        struct Inner: Encodable {
            let a: String?
            let b: [Int64]

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(a, forKey: .a)
                try container.encode(b, forKey: .b)
            }

            enum CodingKeys: String, CodingKey { case a, b }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(flag, forKey: .flag)
            try container.encode(missing, forKey: .missing)
            try container.encode(nested, forKey: .nested)
            try container.encode(number, forKey: .number)
            try container.encode(text, forKey: .text)
        }

        enum CodingKeys: String, CodingKey { case text, number, missing, nested, flag }
    }

    func write(_ sample: Sample) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("flag"); json.bool(sample.flag)
        json.key("missing"); json.integer(sample.missing)
        json.key("nested")
        json.beginArray()
        for inner in sample.nested {
            json.beginObject()
            json.key("a"); json.string(inner.a)
            json.key("b")
            json.beginArray()
            for value in inner.b { json.integer(value) }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.key("number"); json.integer(sample.number)
        json.key("text"); json.string(sample.text)
        json.endObject()
        return json.bytes
    }

    @Test func writesWhatTheEncoderWrites() {
        let texts = ["", "plain", "quote \" backslash \\ slash / </script>", "tab\tline\nreturn\r\u{8}\u{C}", "é 中文 🚀 e\u{301}",
                     "\u{2028}\u{2029}\u{7F}"] + (0..<0x20).map { "c\(String(UnicodeScalar(UInt8($0))))c" }
        for (index, text) in texts.enumerated() {
            let sample = Sample(text: text, number: [Int64.min, -1, 0, 7, .max][index % 5], missing: index % 2 == 0 ? nil : Int64(index),
                                nested: index % 3 == 0 ? [] : [.init(a: text, b: []), .init(a: nil, b: [1, -2, 3])], flag: index % 2 == 0)
            let encoded = HTTPResponse.json(sample).body
            #expect(write(sample) == encoded, "\(String(decoding: write(sample), as: UTF8.self))\n\(String(decoding: encoded, as: UTF8.self))")
        }
    }

    @Test func writesAnswers() throws {
        var json = JSONWriter()
        json.beginArray()
        json.null()
        json.number(text: "1.0842")
        json.string("a")
        json.endArray()
        let response = json.response(status: .created, headers: .retryAfter(2))
        #expect(String(decoding: response.body, as: UTF8.self) == #"[null,1.0842,"a"]"#)
        #expect(response.status == 201)
        #expect(response.headers.map(\.name.rawName) == ["Content-Type", "Retry-After"])
        #expect(response.headers.map(\.value) == ["application/json", "2"])
        // The reader reads back what the writer wrote.
        #expect(try JSONReader.read(response.body) == .array([.null, .number(JSONNumber(text: "1.0842")), .string("a")]))
    }
}
