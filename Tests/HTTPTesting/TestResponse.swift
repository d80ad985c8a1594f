import Foundation
import HTTP

/// An answer as a `TestClient` got it: status, headers and body, as the core would write them.
public struct TestResponse: Sendable, CustomStringConvertible {
    /// The status code (`response.status` has its reason phrase too).
    public var status: Int { response.status.code }
    public var headers: HTTPFields { response.headers }
    public var body: [UInt8] { response.body }
    public let response: HTTPResponse

    init(_ response: HTTPResponse) { self.response = response }

    /// The first value of the header of that name, in any case.
    public func header(_ name: String) -> String? { response.header(name) }

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

    public var description: String { "\(response.status) \(headers.map { "\($0.name): \($0.value)" }) \(text)" }
}
