import HTTPTypes

/// Writes JSON by hand, byte for byte as `HTTPResponse.json` (`JSONEncoder`, slashes unescaped)
/// would for the same keys in the same order: for answers on hot paths, where the encoder's
/// generic machinery costs more than the work behind the answer.
///
/// Keys are written in the order given: give them sorted to match the encoder's output. Commas
/// are the writer's business; nesting is the caller's (every `begin` needs its `end`).
///
/// ```swift
/// var json = JSONWriter()
/// json.beginObject()
/// json.key("id"); json.integer(42)
/// json.key("reason"); json.string(nil)      // null
/// json.endObject()
/// return json.response(status: .created)
/// ```
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next value or key opens its container (no comma before it).
    private var first = true
    /// Whether a key was just written (no comma before its value).
    private var afterKey = false

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        first = false
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        first = true
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        first = false
    }

    /// An object's next key; its value comes next.
    public mutating func key(_ key: String) {
        separate()
        JSONString.append(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// A string, escaped as `JSONEncoder` escapes it; `nil` is `null`.
    public mutating func string(_ value: String?) {
        separate()
        if let value { JSONString.append(value, to: &bytes) } else { bytes += "null".utf8 }
    }

    /// `nil` is `null`.
    public mutating func integer(_ value: Int64?) {
        separate()
        if let value { bytes += String(value).utf8 } else { bytes += "null".utf8 }
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes += (value ? "true" : "false").utf8
    }

    public mutating func null() {
        separate()
        bytes += "null".utf8
    }

    /// A number already written as JSON's grammar wants it (`1.0842`, as `Decimal` prints it):
    /// the caller vouches for the text.
    public mutating func number(text: String) {
        separate()
        bytes += text.utf8
    }

    /// The body as an answer with `Content-Type: application/json`.
    public func response(status: HTTPStatus = .ok, headers: HTTPFields = [:]) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPResponse.jsonFields(headers), body: bytes)
    }

    private mutating func separate() {
        if afterKey {
            afterKey = false
        } else if first {
            first = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
    }
}
