import Foundation

extension HTTPRequest {
    /// Decodes the JSON body: 415 unless the content type is `application/json`, 400 for a body
    /// that ``JSONReader`` refuses (so every route is as strict as the order route), 400 naming
    /// the field for a body that does not fit `Value`.
    public func decodeJSON<Value: Decodable>(_ type: Value.Type) throws(HTTPError) -> Value {
        guard isJSONContentType else {
            throw HTTPError(.unsupportedMediaType, "the body must be JSON: send Content-Type: application/json")
        }
        guard !body.isEmpty else { throw .badRequest("the request body is empty; a JSON object is required") }
        do {
            _ = try JSONReader.read(body)
        } catch {
            throw .badRequest(Self.whyNotJSON(body, else: error))
        }
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

    /// Reads the JSON body with ``JSONReader``: 415 unless the content type is `application/json`,
    /// 400 for an empty body, for one that is not JSON (saying where, in the words `decodeJSON`
    /// uses), and for one that is not an object. Read its fields with the `JSONObject` accessors
    /// below, which refuse as `decodeJSON` does.
    public func jsonObject() throws(HTTPError) -> JSONObject {
        guard isJSONContentType else {
            throw HTTPError(.unsupportedMediaType, "the body must be JSON: send Content-Type: application/json")
        }
        guard !body.isEmpty else { throw .badRequest("the request body is empty; a JSON object is required") }
        let value: JSONValue
        do {
            value = try JSONReader.read(body)
        } catch {
            throw .badRequest(Self.whyNotJSON(body, else: error))
        }
        switch value {
        case .object(let object): return object
        // As `decodeJSON` says of a null body.
        case .null: throw .badRequest("the request body is not valid JSON")
        default: throw .badRequest("the request body must be a JSON object")
        }
    }

    /// 400 for a body whose number no type the field is read as can hold (`1e400` as a `Decimal`),
    /// in the words `decodeJSON` uses.
    public var numberOutOfRange: HTTPError { .badRequest(Self.whyNotJSON(body)) }

    /// The decoder only says that the body is not JSON; the parser says where, or which number is
    /// out of range. What Foundation's parser accepts but ``JSONReader`` does not (a key twice, a
    /// trailing comma, UTF-16) is described by the reader's `failure`.
    static func whyNotJSON(_ body: [UInt8], else failure: JSONReader.Failure? = nil) -> String {
        let prefix = "the request body is not valid JSON"
        do {
            _ = try JSONSerialization.jsonObject(with: Data(body), options: .fragmentsAllowed)
            return failure.map { "\(prefix): \($0)" } ?? prefix
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
        guard let type = headers["content-type"] else { return false }
        // What every client sends, without the work below.
        if type == "application/json" { return true }
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

/// A JSON body's fields, read with the refusals (and the words) of `decodeJSON`.
extension JSONObject {
    /// The first key, in sorted order, that is not one of `allowed`.
    public func unknownKey(allowed: Set<String>) -> String? {
        members.lazy.map(\.key).filter { !allowed.contains($0) }.min()
    }

    public func string(_ key: String) throws(HTTPError) -> String {
        switch try present(key) {
        case .string(let text): return text
        default: throw .badRequest("field '\(key)' must be a string")
        }
    }

    public func number(_ key: String) throws(HTTPError) -> JSONNumber {
        switch try present(key) {
        case .number(let number): return number
        default: throw .badRequest("field '\(key)' must be a number")
        }
    }

    private func present(_ key: String) throws(HTTPError) -> JSONValue {
        switch self[key] {
        case nil: throw .badRequest("missing field '\(key)'")
        case .null?: throw .badRequest("field '\(key)' must not be null")
        case let value?: return value
        }
    }
}
