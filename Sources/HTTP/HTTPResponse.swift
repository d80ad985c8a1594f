import FastCGI
import Foundation

/// Responses are the core's CGI responses; this module adds the JSON shapes of the API.
public typealias HTTPResponse = FastCGIResponse

extension FastCGIResponse {
    /// Encodes `value` as the JSON body. Keys are snake_case in the API, so `Encodable` types name
    /// their keys explicitly (`CodingKeys`) and this encoder adds no strategy of its own.
    public static func json<Value: Encodable>(_ value: Value, status: Int = 200,
                                              headers: [(name: String, value: String)] = []) -> HTTPResponse {
        do {
            let body = try JSONCoding.encoder.encode(value)
            return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers,
                                body: Array(body))
        } catch {
            return .jsonError(500, "internal error")
        }
    }

    /// `{"error": message}` with the given status: the one error shape of the whole API.
    public static func jsonError(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        var body = Array(#"{"error":"#.utf8)
        JSONString.append(message, to: &body)
        body.append(UInt8(ascii: "}"))
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    public static func noContent(headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: 204, headers: headers)
    }
}

enum JSONCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
