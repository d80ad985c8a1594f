import ProcessSupport
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// Why `hold` refused to keep a request open.
public enum HoldRefusal: Error, Sendable, Equatable {
    /// As many requests are held as the server allows; answer 503 with `Retry-After`.
    case limitReached(limit: Int)
    /// The server is draining; answer 503.
    case shuttingDown
}

/// One request and the one way to answer it.
///
/// The application answers with ``respond(_:)`` exactly once, now or later, from any thread. To
/// answer later it first calls ``hold(onClientGone:)`` while it is handling the request: that takes a
/// place under the server's cap on held requests, and tells the application if the web server closes
/// the connection before the answer is ready (the client went away). After that, `respond` does
/// nothing and returns `false`: a request is never written to or finished twice.
public final class FastCGIExchange: Sendable {
    public let request: FastCGIRequest
    /// When the request was read, for durations in access logs.
    public let receivedAt: ContinuousClock.Instant
    /// Whether the request came on a kept connection, one that had served a request before.
    public let onKeptConnection: Bool
    let id: UInt64
    private let core: ServerCore
    private let state: Locked<State>
    /// Runs once when a held request stops being held (answered, abandoned or drained).
    private let releaseHook = Locked<(@Sendable () -> Void)?>(nil)

    private enum State {
        /// The application's `handle` is running on a request thread.
        case handling(FastCGIConnection, onClientGone: (@Sendable () -> Void)?)
        /// `handle` returned with the request held; the watcher sees its socket.
        case held(FastCGIConnection, onClientGone: @Sendable () -> Void)
        case closed
    }

    init(request: FastCGIRequest, connection: FastCGIConnection, id: UInt64, onKeptConnection: Bool, core: ServerCore) {
        self.request = request
        self.receivedAt = .now
        self.onKeptConnection = onKeptConnection
        self.id = id
        self.core = core
        self.state = Locked(.handling(connection, onClientGone: nil))
    }

    /// Keeps the request open after `handle` returns, so it can be answered later from anywhere.
    ///
    /// `onClientGone` runs (on the watcher thread) if the client goes away before the answer; it is
    /// called only after `handle` has returned, so work registered in `handle` can be withdrawn in it.
    /// `onRelease` runs once when the request stops being held, however that happens: it gives back
    /// whatever the application reserved for it. Throws when the held-request cap is reached or the
    /// server is shutting down.
    public func hold(onClientGone: @escaping @Sendable () -> Void,
                     onRelease: (@Sendable () -> Void)? = nil) throws(HoldRefusal) {
        if core.isStopping { throw .shuttingDown }
        try core.reserveHeldPlace()
        // Before the request counts as held, so that an answer given at once still runs it.
        releaseHook.withLock { $0 = onRelease }
        let accepted = state.withLock { state -> Bool in
            guard case .handling(let connection, nil) = state else { return false }
            state = .handling(connection, onClientGone: onClientGone)
            return true
        }
        guard accepted else {
            core.releaseHeldPlace()
            preconditionFailure("hold(onClientGone:) must be called once, from handle, before the request is answered")
        }
        core.registry.insert(self)
    }

    /// Called by the core when the request is no longer held.
    func released() {
        releaseHook.withLock { hook in defer { hook = nil }; return hook }?()
    }

    /// Answers the request. Returns `false` if it was already answered or its client has gone.
    @discardableResult
    public func respond(_ response: FastCGIResponse) -> Bool {
        guard let (connection, wasHeld, watched) = takeConnection() else { return false }
        if watched { core.watcher.unwatch(fd: connection.fd) }
        if wasHeld { core.forgetHeld(self) }
        let write: @Sendable () -> Void = { [core] in
            core.write(response, to: connection)
            core.completed(self, status: response.status.code)
        }
        // Writing may block, so it never runs on the cooperative pool. A request thread writes the
        // answer to its own request itself; a held request's answer goes to the writer threads, so
        // that the thread that decided it (a batch's journal, a fan-out to a room's long-polls)
        // goes on to its next work while the answers are written beside it.
        if OwnThread.isCurrent && !wasHeld { write() } else { core.writers.submit(write) }
        return true
    }

    /// Whether the request has been answered or abandoned.
    public var isClosed: Bool {
        state.withLock { if case .closed = $0 { true } else { false } }
    }

    private func takeConnection() -> (FastCGIConnection, wasHeld: Bool, watched: Bool)? {
        state.withLock { state in
            switch state {
            case .handling(let connection, let onGone):
                state = .closed
                return (connection, onGone != nil, false)
            case .held(let connection, _):
                state = .closed
                return (connection, true, true)
            case .closed:
                return nil
            }
        }
    }

    /// Called by the request thread when `handle` returns. Returns `false` if the application
    /// neither answered nor held the request.
    func handlerReturned() -> Bool {
        state.withLock { state in
            switch state {
            case .handling(let connection, let onGone?):
                state = .held(connection, onClientGone: onGone)
                // Inside the lock, so that `respond` cannot close the fd between the check and the watch.
                core.watcher.watch(fd: connection.fd, token: id)
                return true
            case .handling(_, nil):
                return false
            case .held, .closed:
                return true
            }
        }
    }

    /// The web server closed the connection of a held request: free it without writing, and tell the
    /// application.
    func clientGone() {
        let taken: (FastCGIConnection, @Sendable () -> Void)? = state.withLock { state in
            guard case .held(let connection, let onGone) = state else { return nil }
            state = .closed
            return (connection, onGone)
        }
        guard let (connection, onGone) = taken else { return }
        core.watcher.unwatch(fd: connection.fd)
        core.forgetHeld(self)
        core.abandon(connection)
        onGone()
        core.completed(self, status: nil)
    }
}
