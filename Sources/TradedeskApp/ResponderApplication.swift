import FastCGI
import HTTP
import Locking
import Logging
import ProcessSupport
import Storage

/// What the responder serves from the moment it listens. While its database cannot be opened for
/// writing (a read-only or full file system, a missing folder), every request is answered 503
/// naming why; once the database opens, the real application takes over.
///
/// Waiting beats exiting: an exit would let nginx answer 502 without saying what is wrong, and
/// systemd would restart the responder into its start limit and leave it down after the fault was
/// fixed.
final class ResponderApplication: FastCGIApplication {
    private enum State {
        case waiting(reason: String)
        case serving(HTTPApplication)
        case stopping
    }

    /// Seconds a client is told to wait while the database is not available: until the next try.
    static let retryAfter = Int(Responder.databaseRetryInterval.seconds.rounded(.up))

    private let state: Locked<State>
    private let logger: Logger

    init(waitingBecause reason: String, logger: Logger) {
        self.state = Locked(.waiting(reason: reason))
        self.logger = logger
    }

    /// What a client is told while the database is not available: no path, which only the log gets.
    static func reason(for error: any Error) -> String {
        if let error = error as? DatabaseFileError { return "the database cannot be opened for writing: \(error.cause)" }
        if let fault = StorageFault(error) { return "\(fault)" }
        if let error = error as? NotMigrated { return "\(error)" }
        return "the database cannot be opened"
    }

    func wait(because reason: String) {
        state.withLock { if case .waiting = $0 { $0 = .waiting(reason: reason) } }
    }

    /// Hands over to `application`; `false` if the server is already stopping.
    func serve(_ application: HTTPApplication) -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = .serving(application)
            return true
        }
    }

    func handle(_ exchange: FastCGIExchange) {
        switch state.withLock({ $0 }) {
        case .serving(let application):
            application.handle(exchange)
        case .waiting(let reason):
            exchange.respond(HTTPError.serviceUnavailable("\(reason); retry shortly", retryAfter: Self.retryAfter).response)
        case .stopping:
            exchange.respond(HTTPError.serviceUnavailable("the server is shutting down; retry shortly", retryAfter: 1).response)
        }
    }

    /// Accepting has stopped and every accepted request has been handled: nothing calls `handle`
    /// again, so the application is let go (with it the database, once the services are shut down).
    func drain(before deadline: ContinuousClock.Instant) {
        let application = state.withLock { state -> HTTPApplication? in
            defer { state = .stopping }
            if case .serving(let application) = state { return application }
            return nil
        }
        application?.drain(before: deadline)
    }

    func completed(_ exchange: FastCGIExchange, status: Int?) {
        HTTPApplication.logAccess(exchange, status: status, logger: logger)
    }

    func answer(for refusal: FastCGIRefusal) -> FastCGIResponse { HTTPApplication.answer(for: refusal) }
}
