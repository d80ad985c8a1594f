/// An error that knows its own answer: a status, headers and the message of the API's one error
/// shape, `{"error": message}`. Modelled on hummingbird's `HTTPResponseError`.
///
/// Domain modules throw their own errors and know nothing of HTTP; the application conforms each
/// of them once (in TradedeskApp's error adapter), and ``HTTPApplication`` answers every thrown
/// error in one place: a conforming error with its own answer, anything else with a 500 whose
/// details only the log gets.
public protocol HTTPResponseError: Error {
    /// A named status (`.notFound`), so that the answer has its reason phrase.
    var status: HTTPStatus { get }
    /// The text of the `error` field: what the client may read, never a path or a stack.
    var message: String { get }
    /// The answer's headers. `request` says how the client asked, for headers that depend on it
    /// (a cookie is named differently over HTTPS).
    func headers(for request: HTTPRequest?) -> HTTPFields
}

extension HTTPResponseError {
    public func headers(for request: HTTPRequest?) -> HTTPFields { [:] }

    /// The whole answer: status, headers and `{"error": message}`.
    public func response(to request: HTTPRequest?) -> HTTPResponse {
        .jsonError(status, message, headers: headers(for: request))
    }
}
