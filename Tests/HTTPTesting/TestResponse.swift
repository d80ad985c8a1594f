import Foundation
import HTTP

/// An answer as a `TestClient` got it: status, headers and body, as the core would write them.
public struct TestResponse: Sendable, CustomStringConvertible {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    init(_ response: HTTPResponse) {
        status = response.status
        headers = response.headers
        body = response.body
    }

    /// The first header of that name, in any case.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object.
    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw TestExchangeError.notAJSONObject(text)
        }
        return object
    }

    /// The `error` of an error answer.
    public var error: String? { (try? json())?["error"] as? String }

    public var description: String { "\(status) \(headers.map { "\($0.name): \($0.value)" }) \(text)" }
}
