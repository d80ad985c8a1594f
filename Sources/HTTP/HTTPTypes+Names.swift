import HTTPTypes

// swift-http-types' values, under names that cannot be confused with this module's own
// `HTTPRequest` (a routed request with its parsed path, query and cookies) and `HTTPResponse`
// (what a handler answers). Modules that import HTTP use these names and need not import HTTPTypes.

/// `GET`, `POST`, …: `HTTPTypes.HTTPRequest.Method`.
public typealias HTTPMethod = HTTPTypes.HTTPRequest.Method
/// A status code with its reason phrase (`.notFound` is `404 Not Found`): `HTTPTypes.HTTPResponse.Status`.
public typealias HTTPStatus = HTTPTypes.HTTPResponse.Status
/// Header fields, the one header type of the responder, from handlers to the bytes the core writes.
public typealias HTTPFields = HTTPTypes.HTTPFields
public typealias HTTPField = HTTPTypes.HTTPField

extension HTTPField {
    /// `Retry-After: seconds`: when a client that was refused (429, 503) may ask again. The one
    /// spelling of the field in the responder.
    public static func retryAfter(_ seconds: Int) -> HTTPField { HTTPField(name: .retryAfter, value: String(seconds)) }
}

extension HTTPFields {
    /// Only `Retry-After: seconds` (see `HTTPField.retryAfter`).
    public static func retryAfter(_ seconds: Int) -> HTTPFields { HTTPFields([.retryAfter(seconds)]) }
}
