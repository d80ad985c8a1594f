import Foundation
@testable import HTTP
@testable import Orders
import HTTPTesting
import Testing
@testable import TradedeskApp

/// The order route reads and writes its JSON by hand (`OrderRoutes.OrderRequest`, `OrderJSON`).
/// These compare it with what `JSONDecoder` and `JSONEncoder` did before: the same answers for the
/// same bodies, byte for byte the same orders.
struct OrderJSONTests {
    // MARK: Reading

    /// The order body as it was read with `JSONDecoder` (through `decodeJSON`, before its strict
    /// first pass), kept as the oracle.
    struct DecodedOrder: Decodable {
        let side: OrderSide
        let price: Price

        private struct Key: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            if let unknown = container.allKeys.map(\.stringValue).filter({ $0 != "order" && $0 != "price" }).sorted().first {
                throw HTTPError.badRequest("unknown field '\(unknown)': an order has only 'order' and 'price'")
            }
            let sideText = try container.decode(String.self, forKey: Key(stringValue: "order"))
            guard let side = OrderSide(rawValue: sideText) else {
                throw HTTPError.badRequest("field 'order' must be \"buy\" or \"sell\"")
            }
            self.side = side
            do {
                price = try Price(try container.decode(Decimal.self, forKey: Key(stringValue: "price")))
            } catch let error as PriceError {
                throw HTTPError.badRequest(error.message)
            }
        }
    }

    enum Outcome: Equatable, CustomStringConvertible {
        case order(OrderSide, Price)
        case refused(Int, String)

        var description: String {
            switch self {
            case .order(let side, let price): "\(side) \(price)"
            case .refused(let status, let message): "\(status) \(message)"
            }
        }
    }

    func request(_ body: [UInt8], type: String = "application/json") throws -> HTTPRequest {
        try HTTPRequest(params: ["REQUEST_METHOD": "POST", "REQUEST_URI": "/api/orders", "CONTENT_TYPE": type], body: body)
    }

    func now(_ body: [UInt8]) throws -> Outcome {
        let request = try request(body)
        do {
            let order = try OrderRoutes.OrderRequest(request)
            return .order(order.side, order.price)
        } catch {
            return .refused(error.status.code, error.message)
        }
    }

    /// `decodeJSON` as it was before every body went through `JSONReader` first.
    func before(_ body: [UInt8]) throws -> Outcome {
        let request = try request(body)
        guard request.isJSONContentType else { return .refused(415, "the body must be JSON: send Content-Type: application/json") }
        guard !body.isEmpty else { return .refused(400, "the request body is empty; a JSON object is required") }
        do {
            let order = try JSONDecoder().decode(DecodedOrder.self, from: Data(body))
            return .order(order.side, order.price)
        } catch let error as HTTPError {
            return .refused(error.status.code, error.message)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                return .refused(400, HTTPRequest.whyNotJSON(body))
            }
            return .refused(400, HTTPRequest.describe(error))
        } catch {
            return .refused(400, HTTPRequest.whyNotJSON(body))
        }
    }

    static let prices = [
        "1", "1.5", "0.1", "1.0842", "123456.5", "1000000000", "1000000000.000001", "999999999.999999", "0.000001",
        "0.0000001", "1.1234567", "1.50000000000000000000", "0", "-0", "-0.0", "-3", "1e2", "1E2", "1e+2", "1.5e2",
        "100e-2", "1e-6", "1e-7", "1e6", "1e9", "1e10", "0.1e128", "12e126", "1e127", "1e128", "1e400", "-1e400",
        "1e-128", "1e-129", "1e-400", "0e999", "0e99999999999999999999", "1e0000000000000000000000000001",
        "123456789012345678901234567890", "123456789012345678", "1234567890123456789", "9223372036854775807",
        "9223372036854775808", "1.000000000000000000000000000000000000000001",
        "1.0000001000000000000000000000000000000000001", "99999999999999999999999999999999999999999",
        "0.00000000000000000000000000000000000000000000000000000000000000000000001", "5e-7", "0.5e-5",
        "01", "1.", ".5", "+1", "1e", "-", "NaN", "Infinity", "0x10", "true", "null", "[]", "{}", "\"1.5\"", "\"\"",
    ]

    static let bodies: [String] = prices.map { #"{"order":"buy","price":\#($0)}"# } + [
        #"{"order":"sell","price":2}"#, #" {"price":1,"order":"sell"} "#, "{\"order\":\"buy\",\n\t\"price\":1}\r\n",
        #"{"ord\u0065r":"b\u0075y","price":1}"#, #"{"order":"buy\/","price":1}"#, #"{"order":"buy\u0000","price":1}"#,
        #"{"price":1}"#, #"{"order":"buy"}"#, #"{}"#, #"{"order":"hold","price":1}"#, #"{"order":"BUY","price":1}"#,
        #"{"order":1,"price":1}"#, #"{"order":null,"price":1}"#, #"{"order":"buy","price":null}"#,
        #"{"order":["buy"],"price":1}"#, #"{"order":"buy","price":1,"qty":5}"#, #"{"b":1,"a":2,"order":"buy"}"#,
        #"{"":1}"#, #"{"x":1e400}"#, #"{"order":"hold","price":1e400}"#, #"{"order":1,"price":1e400}"#,
        #"{"order":"buy","price":1,"x":[[[1]]]}"#, #"{"order":"\ud800\udc00","price":1}"#,
        #"[1]"#, #"[1,2]"#, #""x""#, "1", "true", "null", "", "   ", #"{"order":"#, #"{"order":NaN}"#,
        #"{"order":"buy","price":1} x"#, #"{"order":"buy","price":1}{}"#, #"{"order":"buy",,"price":1}"#,
        #"{'order':'buy'}"#, "{\"order\":\"bu\ty\",\"price\":1}", #"{"order":"buy\x","price":1}"#,
        #"{"order":"\ud800","price":1}"#, #"{"order":"\udc00","price":1}"#, #"{,"order":"buy","price":1}"#,
        #"{"order":"buy","price":1,,}"#, #"{"order":"buy" "price":1}"#, #"{"order":"buy":"price":1}"#,
        #"{"order":"buy","price":1"#, #"{"order":"buy","price":tru}"#, #"{"order":"buy","price":nul}"#,
        "{\"order\":\"buy\",\"price\":1,\"x\":" + String(repeating: "[", count: 511) + String(repeating: "]", count: 511) + "}",
        "{\"order\":\"buy\",\"price\":1,\"x\":" + String(repeating: "[", count: 512) + String(repeating: "]", count: 512) + "}",
        String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000),
        String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000),
    ]

    /// Bodies that are not JSON by RFC 8259, or not one reading, that `JSONDecoder` took: refused now.
    static let refusedNow: [([UInt8], String)] = [
        (Array(#"{"order":"buy","order":"sell","price":1}"#.utf8),
         #"the request body is not valid JSON: the key "order" appears twice in one object around character 15"#),
        (Array(#"{"order":"buy","price":1,}"#.utf8),
         "the request body is not valid JSON: a comma before the end of an array or object around character 25"),
        (Array(#"{"order":"buy","price":1,"x":[1,]}"#.utf8),
         "the request body is not valid JSON: a comma before the end of an array or object around character 32"),
        ([0xEF, 0xBB, 0xBF] + Array(#"{"order":"buy","price":1}"#.utf8),
         "the request body is not valid JSON: a byte order mark (the body must be UTF-8 without one) around character 0"),
        (Array(#"{"order":"buy","price":1}"#.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] },
         "the request body is not valid JSON: unexpected character around character 1"),
    ]

    /// Bodies that are not JSON and wrong in some other way too. The decoder read strings and
    /// numbers only when a field was decoded, so it named the other fault (an unknown field, a
    /// side that is neither buy nor sell); the reader reads the whole body first, and says it is
    /// not JSON, and where, in the parser's words as before.
    static let notJSONFirst: [([UInt8], String)] = [
        (Array(#"{"order":"buy","price":1,"x":"\uZZZZ"}"#.utf8), #"the request body is not valid JSON: invalid hex encoded sequence in "ZZZZ" at 32"#),
        (Array(#"{"order":"by","price":12.}"#.utf8), "the request body is not valid JSON: invalid value around character 25"),
        (Array(#"{"x":1,"price":-}"#.utf8), "the request body is not valid JSON: invalid value around character 16"),
        (Array(#"{"order":"buy","price":1,"x":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8),
         "the request body is not valid JSON: invalid UTF-8 sequence 3 bytes starting from character 30"),
    ]

    @Test func everyBodyIsAnsweredAsTheDecoderAnsweredIt() throws {
        for body in Self.bodies {
            let bytes = Array(body.utf8)
            let expected = try before(bytes)
            let answer = try now(bytes)
            #expect(answer == expected, "\(body.prefix(80))")
        }
        for bytes: [UInt8] in [Array(#"{"order":"b"#.utf8) + [0xC3, 0x28] + Array(#"","price":1}"#.utf8),
                               Array(#"{"ord"#.utf8) + [0xFF] + Array(#"":"buy","price":1}"#.utf8),
                               Array(#"{"order":"buy","price":1}"#.utf8) + [0]] {
            #expect(try now(bytes) == before(bytes), "\(bytes)")
        }
        // The cases that matter most, spelled out.
        #expect(try now(Array(#"{"order":"buy","price":1.0842}"#.utf8)) == .order(.buy, Price(micros: 1_084_200)))
        #expect(try now(Array(#"{"order":"buy","price":1e400}"#.utf8))
                == .refused(400, "the request body is not valid JSON: number 1e400 is out of range"))
        #expect(try now(Array(#"{"order":"buy","price":1e-400}"#.utf8)) == .refused(400, "the request body is not valid JSON"))
        #expect(try now(Array(#"{"order":"buy","price":1,"x":1}"#.utf8))
                == .refused(400, "unknown field 'x': an order has only 'order' and 'price'"))
    }

    @Test func bodiesTheDecoderGuessedAtAreRefused() throws {
        for (bytes, message) in Self.refusedNow {
            let answer = try now(bytes)
            #expect(answer == .refused(400, message), "\(answer)")
            #expect(try before(bytes) != .refused(400, message))
        }
    }

    @Test func aBodyThatIsNotJSONIsSaidToBeSoFirst() throws {
        for (bytes, message) in Self.notJSONFirst {
            let answer = try now(bytes)
            #expect(answer == .refused(400, message), "\(answer)")
            guard case .refused(400, let before) = try before(bytes) else { Issue.record("the decoder took \(bytes)"); continue }
            #expect(before != message)
        }
    }

    /// Random prices, and random damage to good bodies: the same answers as the decoder's.
    @Test func randomBodiesAreAnsweredAsTheDecoderAnsweredThem() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"0123456789.eE+-"{}[],: \abtrux"#.utf8)
        for _ in 0..<3_000 {
            var digits = String(Int.random(in: 0...2_000_000_000, using: &generator))
            if Bool.random() { digits.insert(".", at: digits.index(digits.startIndex, offsetBy: Int.random(in: 1...digits.count))) }
            if Int.random(in: 0..<4) == 0 { digits += "e\(Int.random(in: -12...12))" }
            let body = Array(#"{"order":"sell","price":\#(digits)}"#.utf8)
            let answer = try now(body)
            #expect(answer == (try before(body)), "\(String(decoding: body, as: UTF8.self))")
        }
        let good = Array(#"{"order":"buy","price":12.5}"#.utf8)
        for _ in 0..<3_000 {
            let body = randomlyDamaged(good, alphabet: alphabet)
            let text = String(decoding: body, as: UTF8.self)
            let expected = try before(body)
            let answer = try now(body)
            // What the decoder took but the reader refuses on purpose (see `refusedNow`).
            if case .refused(400, let message) = answer, message.contains("a comma before the end") || message.contains("appears twice") {
                continue
            }
            // Not JSON and wrong in another way: the decoder named the other fault (see `notJSONFirst`).
            if case .refused(400, let message) = answer, message.hasPrefix("the request body is not valid JSON"),
               case .refused(400, _) = expected, (try? JSONSerialization.jsonObject(with: Data(body))) == nil {
                continue
            }
            #expect(answer == expected, "\(text)")
        }
    }

    @Test func theContentTypeMustBeJSON() throws {
        for type in ["text/plain", "application/jsonx", ""] {
            let request = try request(Array(#"{"order":"buy","price":1}"#.utf8), type: type)
            #expect(throws: HTTPError(415, "the body must be JSON: send Content-Type: application/json")) {
                try OrderRoutes.OrderRequest(request)
            }
        }
        #expect(try OrderRoutes.OrderRequest(request(Array(#"{"order":"buy","price":1}"#.utf8), type: "Application/JSON; charset=utf-8"))
                == OrderRoutes.OrderRequest(request(Array(#"{"order":"buy","price":1}"#.utf8))))
    }

    // MARK: Writing

    /// The order as it was written with `JSONEncoder` (through `HTTPResponse.json`), kept as the oracle.
    struct EncodedOrder: Encodable {
        let order: Order

        enum CodingKeys: String, CodingKey {
            case id, order, price, status, reason, batch
            case submittedAt = "submitted_at"
            case executedAt = "executed_at"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(order.id, forKey: .id)
            try container.encode(order.side, forKey: .order)
            try container.encode(order.price.decimal, forKey: .price)
            try container.encode(order.status, forKey: .status)
            try container.encodeIfPresent(order.reason, forKey: .reason)
            try container.encode(order.batch, forKey: .batch)
            try container.encode(order.submittedAt.apiTimestamp, forKey: .submittedAt)
            try container.encode(order.executedAt?.apiTimestamp, forKey: .executedAt)
        }
    }

    struct EncodedError: Encodable {
        let error: String
        let id: Int64
    }

    static let orders: [Order] = {
        let micros: [Int64] = [1, 10, 100_000, 1_000_000, 1_084_200, 1_000_001, 123_456_500_000, 999_999_999_999_999,
                               1_000_000_000_000_000, 3_000_000, 1_100_000, 7_250_000]
        let reasons: [String?] = [nil, "execution failed: the mock \"failed\"\n\\ / </script> é 🚀 \u{1}\u{7F}", ""]
        let statuses: [OrderStatus] = [.pending, .approved, .rejected, .failed, .withdrawn]
        let base = Date(timeIntervalSince1970: 1_800_000_000.123)
        var orders: [Order] = []
        for (index, micros) in micros.enumerated() {
            let side: OrderSide = index % 2 == 0 ? .buy : .sell
            let batch: Int64? = index % 3 == 0 ? nil : Int64(index)
            let submitted = base.addingTimeInterval(Double(index) * 0.001)
            let executed: Date? = index % 4 == 0 ? nil : base.addingTimeInterval(Double(index))
            orders.append(Order(id: Int64(index) * 1_234_567 + 1, userID: 7, side: side, price: Price(micros: micros),
                                status: statuses[index % statuses.count], reason: reasons[index % reasons.count],
                                batch: batch, idempotencyKey: nil, submittedAt: submitted, executedAt: executed))
        }
        return orders
    }()

    @Test func ordersAreWrittenByteForByteAsTheEncoderWroteThem() throws {
        for order in Self.orders {
            let written = OrderJSON.response(order)
            let encoded = HTTPResponse.json(EncodedOrder(order: order))
            #expect(written.body == encoded.body, "\(String(decoding: written.body, as: UTF8.self))\n\(String(decoding: encoded.body, as: UTF8.self))")
            #expect(written.status == encoded.status)
            #expect(written.headers == encoded.headers)
        }
        for list in [[], Array(Self.orders.prefix(1)), Self.orders] {
            #expect(OrderJSON.response(list).body == HTTPResponse.json(list.map(EncodedOrder.init)).body)
        }
        let pending = try #require(JSONSerialization.jsonObject(with: Data(OrderJSON.response(Self.orders[0]).body)) as? [String: Any])
        #expect(pending["batch"] is NSNull && pending["executed_at"] is NSNull, "explicit nulls: \(pending)")
    }

    @Test func errorsWithTheOrderIDAreWrittenAsTheEncoderWroteThem() throws {
        for (message, id) in [("order 5 withdrawn: \"late\"", Int64(5)), ("", 0), ("é\n\u{2}", .max)] {
            let written = OrderJSON.error(message, id: id, status: .gatewayTimeout, headers: .retryAfter(3))
            let encoded = HTTPResponse.json(EncodedError(error: message, id: id), status: .gatewayTimeout, headers: .retryAfter(3))
            #expect(written.body == encoded.body)
            #expect(written.status == 504 && written.headers == encoded.headers)
        }
    }
}
