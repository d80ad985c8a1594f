import FastCGI
import Foundation
import HTTPTypes

/// Responses are the core's CGI responses; this module adds the JSON shapes of the API.
public typealias HTTPResponse = FastCGIResponse

extension FastCGIResponse {
    /// Encodes `value` as the JSON body. Keys are snake_case in the API, so `Encodable` types name
    /// their keys explicitly (`CodingKeys`) and this encoder adds no strategy of its own.
    public static func json<Value: Encodable>(_ value: Value, status: HTTPStatus = .ok, headers: HTTPFields = [:]) -> HTTPResponse {
        do {
            let body = try JSONCoding.encoder.encode(value)
            return HTTPResponse(status: status, headers: jsonFields(headers), body: Array(body))
        } catch {
            return .jsonError(.internalServerError, "internal error")
        }
    }

    /// `{"error": message}` with the given status: the one error shape of the whole API.
    public static func jsonError(_ status: HTTPStatus, _ message: String, headers: HTTPFields = [:]) -> HTTPResponse {
        var body = Array(#"{"error":"#.utf8)
        JSONString.append(message, to: &body)
        body.append(UInt8(ascii: "}"))
        return HTTPResponse(status: status, headers: jsonFields(headers), body: body)
    }

    public static func noContent(headers: HTTPFields = [:]) -> HTTPResponse {
        HTTPResponse(status: .noContent, headers: headers)
    }

    /// `Content-Type: application/json`, then `headers`.
    public static func jsonFields(_ headers: HTTPFields = [:]) -> HTTPFields {
        // Most answers add nothing: they share one storage.
        guard !headers.isEmpty else { return contentTypeJSON }
        var fields = contentTypeJSON
        fields.append(contentsOf: headers)
        return fields
    }

    private static let contentTypeJSON: HTTPFields = [.contentType: "application/json"]

    /// The first value of the field named `name` (in any case).
    public func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }
}

enum JSONCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
