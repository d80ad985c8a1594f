import Foundation
import Locking
import Logging
import ProcessSupport
import Storage

/// PostgreSQL's `ChangeWatch`: a thread that `LISTEN`s on one channel over a connection of its
/// own and wakes the waiter as each notification arrives, so that a new job reaches a bot, or a
/// reply the responder, within a round trip rather than a poll interval.
///
/// A notification carries no data: it says only "look at the table", which stays the truth. So
/// after every (re)connection the watch reports a change once, for what was committed while
/// nobody listened (PostgreSQL keeps nothing for a channel without listeners). While the
/// listening connection is down, `changed()` answers `true` at every look and
/// `wakesByItself` is `false`: the waiter falls back to polling the table, and the thread
/// reconnects every `retryInterval`, saying so in the log both when it loses the connection and
/// when it has it back.
public final class PostgresChangeWatch: ChangeWatch, Sendable {
    private struct State {
        var listening = false
        var pending = true
        var stopped = false
    }

    private let state = Locked(State())
    private let thread = Locked<pthread_t?>(nil)
    /// Written once by `stop` to end the thread's `poll`.
    private let stopPipe: (read: Int32, write: Int32)

    /// Starts listening on `channel` of `database` (the thread is running when this returns, and
    /// the first connection may still be on its way).
    public init(database: PostgresDatabase, channel: String, logger: Logger,
                retryInterval: Duration = .seconds(1), wake: @escaping @Sendable () -> Void) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0 else {
            throw PostgresError(.connection, message: "cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        stopPipe = (fds[0], fds[1])
        let started = OwnThread.start(name: "pg-listen") { [state, stopPipe] in
            Self.listen(database: database, channel: channel, logger: logger, retryInterval: retryInterval,
                        state: state, stopPipe: stopPipe.read, wake: wake)
        }
        thread.withLock { $0 = started }
    }

    deinit {
        stop()
        close(stopPipe.read)
        close(stopPipe.write)
    }

    public func changed() -> Bool {
        state.withLock { state in
            guard state.listening else { return true }
            defer { state.pending = false }
            return state.pending
        }
    }

    public var wakesByItself: Bool { state.withLock { $0.listening } }

    /// Ends the listening thread and waits for it.
    public func stop() {
        state.withLock { $0.stopped = true }
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
        if let running = thread.withLock({ thread in defer { thread = nil }; return thread }) {
            OwnThread.join(running)
        }
    }

    /// The thread: connect and listen, wait for notifications, reconnect when the link breaks.
    private static func listen(database: PostgresDatabase, channel: String, logger: Logger, retryInterval: Duration,
                               state: Locked<State>, stopPipe: Int32, wake: @Sendable () -> Void) {
        var lostSince: ContinuousClock.Instant?
        var reported: String?
        while !state.withLock({ $0.stopped }) {
            let connection: PostgresConnection
            do {
                connection = try database.dedicatedConnection()
                try connection.listen(channel)
            } catch {
                if reported != "\(error)" {
                    reported = "\(error)"
                    logger.error("cannot listen for notifications; polling the table until it can",
                                 metadata: ["channel": "\(channel)", "error": "\(error)"])
                }
                lostSince = lostSince ?? .now
                if wait(stopPipe, for: retryInterval) { return }
                continue
            }
            if let since = lostSince {
                logger.notice("listening for notifications again", metadata: ["channel": "\(channel)", "after": "\(ContinuousClock.now - since)"])
            }
            lostSince = nil
            reported = nil
            state.withLock { $0.listening = true; $0.pending = true }
            wake()
            let failure = receive(on: connection, stopPipe: stopPipe, state: state, wake: wake)
            state.withLock { $0.listening = false }
            guard let failure else { return }
            logger.error("lost the connection that listens for notifications; polling the table until it is back",
                         metadata: ["channel": "\(channel)", "error": "\(failure)"])
            reported = "\(failure)"
            lostSince = .now
            wake()
        }
    }

    /// Waits for notifications until `stop` (`nil`) or until the connection breaks (the error).
    /// A link that dies silently (a host gone from the network) would leave `poll` waiting for ever,
    /// so a quiet connection is asked a trivial query now and then.
    private static func receive(on connection: PostgresConnection, stopPipe: Int32, state: Locked<State>,
                                wake: @Sendable () -> Void) -> (any Error)? {
        while true {
            var fds = [pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stopPipe, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, 15_000)
            if ready < 0, errno == EINTR { continue }
            if fds[1].revents != 0 || state.withLock({ $0.stopped }) { return nil }
            do {
                if ready == 0 { try connection.query("SELECT 1") }
                if !(try connection.notifications()).isEmpty {
                    state.withLock { $0.pending = true }
                    wake()
                }
            } catch {
                return error
            }
        }
    }

    /// Sleeps for `duration` unless `stop` writes to the pipe first (then `true`).
    private static func wait(_ stopPipe: Int32, for duration: Duration) -> Bool {
        var descriptor = pollfd(fd: stopPipe, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        return poll(&descriptor, 1, milliseconds) > 0
    }
}
