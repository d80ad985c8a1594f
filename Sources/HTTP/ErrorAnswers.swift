import Logging

/// Where every error a handler throws becomes its answer, whether it is thrown at once or given
/// later to a held request (``PendingResponse/respond(_:)-(any Error)``).
///
/// An ``HTTPResponseError`` answers for itself. An error of a library that cannot conform (a GRDB
/// `DatabaseError` that says the disk is full) is first offered to `recognize`, which may name an
/// `HTTPResponseError` for it. Anything else is a bug: a 500 whose details only the log gets.
struct ErrorAnswers: Sendable {
    let logger: Logger
    let recognize: @Sendable (any Error) -> (any HTTPResponseError)?

    init(logger: Logger = Logger(label: "http"), recognize: @escaping @Sendable (any Error) -> (any HTTPResponseError)? = { _ in nil }) {
        self.logger = logger
        self.recognize = recognize
    }

    func response(for error: any Error, to request: HTTPRequest?) -> HTTPResponse {
        if let error = error as? any HTTPResponseError { return error.response(to: request) }
        // The details go to the log, never to the client.
        logger.error("handler failed", metadata: ["uri": "\(request?.rawPath ?? "")", "error": "\(error)"])
        return recognize(error)?.response(to: request) ?? .jsonError(.internalServerError, "internal error")
    }
}
