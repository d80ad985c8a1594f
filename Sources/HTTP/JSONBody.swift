import Foundation

extension HTTPRequest {
    /// Decodes the JSON body: 415 unless the content type is `application/json`, 400 naming the
    /// field for a body that does not fit `Value`.
    public func decodeJSON<Value: Decodable>(_ type: Value.Type) throws(HTTPError) -> Value {
        guard isJSONContentType else {
            throw HTTPError(.unsupportedMediaType, "the body must be JSON: send Content-Type: application/json")
        }
        guard !body.isEmpty else { throw .badRequest("the request body is empty; a JSON object is required") }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(body))
        } catch let error as HTTPError {
            // A type's own `init(from:)` may say precisely what is wrong.
            throw error
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw .badRequest(Self.whyNotJSON(body))
            }
            throw .badRequest(Self.describe(error))
        } catch {
            throw .badRequest(Self.whyNotJSON(body))
        }
    }

    /// The decoder only says that the body is not JSON; the parser says where, or which number is
    /// out of range.
    static func whyNotJSON(_ body: [UInt8]) -> String {
        let prefix = "the request body is not valid JSON"
        do {
            _ = try JSONSerialization.jsonObject(with: Data(body), options: .fragmentsAllowed)
            return prefix
        } catch {
            guard let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String else { return prefix }
            var plain = detail.replacingOccurrences(of: " is not representable in Swift", with: " is out of range")
            if plain.hasSuffix(".") { plain.removeLast() }
            return "\(prefix): \(plain.prefix(1).lowercased())\(plain.dropFirst())"
        }
    }

    /// Like `decodeJSON`, but an empty body (with any content type) gives `nil`.
    public func decodeJSONIfPresent<Value: Decodable>(_ type: Value.Type) throws(HTTPError) -> Value? {
        body.isEmpty ? nil : try decodeJSON(type)
    }

    var isJSONContentType: Bool {
        guard let type = header("content-type") else { return false }
        let mediaType = type.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        return mediaType == "application/json"
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context) where !context.codingPath.isEmpty:
            return "field '\(path(context.codingPath))' must be \(describe(type))"
        case .typeMismatch(let type, _):
            return "the request body must be \(describe(type))"
        case .valueNotFound(_, let context) where !context.codingPath.isEmpty:
            return "field '\(path(context.codingPath))' must not be null"
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return "field '\(path(context.codingPath))' is invalid: \(context.debugDescription)"
        default:
            return "the request body is not valid JSON"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is UInt.Type: "an integer"
        case is Double.Type, is Float.Type, is Decimal.Type: "a number"
        case is [Any].Type: "an array"
        default: "a JSON object"
        }
    }
}
