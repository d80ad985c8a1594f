import Foundation
import Locking
import Logging

/// A PostgreSQL database, through a pool of connections that callers take one at a time: each
/// store call runs on the caller's thread with a connection of its own, as libpq requires.
///
/// Connections are opened when needed, up to `maxConnections`, and kept. One that broke (the
/// server restarted, the link dropped) is closed and a later call opens a new one, so the program
/// recovers by itself once the server is back; meanwhile calls throw `PostgresError` of kind
/// `.connection`, which `StorageFault` reports as the database being unreachable.
public final class PostgresDatabase: Sendable {
    public struct Configuration: Sendable {
        /// How many connections the pool keeps open at most. The default is 16: enough for every
        /// request thread and the journal of one responder; the server's `max_connections`
        /// (100 by default) must cover every responder's and bot's pool.
        public var maxConnections: Int
        /// How long a caller waits for a connection when all are in use before the call throws
        /// (`PostgresError.Kind.poolExhausted`). The default is 5 s.
        public var checkoutTimeout: Duration

        public init(maxConnections: Int = 16, checkoutTimeout: Duration = .seconds(5)) {
            self.maxConnections = maxConnections
            self.checkoutTimeout = checkoutTimeout
        }
    }

    private struct Pool {
        var idle: [PostgresConnection] = []
        var open = 0
    }

    private let url: String
    private let configuration: Configuration
    private let pool = LockedCondition(Pool())

    /// Opens the pool's first connection now, so that a wrong URL or an unreachable server fails
    /// the caller at start-up rather than on its first request.
    public init(url: String, configuration: Configuration = Configuration()) throws {
        self.url = url
        self.configuration = configuration
        let first = try PostgresConnection(url: url)
        pool.withLock { $0.idle.append(first); $0.open = 1 }
    }

    /// Runs `body` with a connection no other thread uses meanwhile.
    public func withConnection<Result>(_ body: (PostgresConnection) throws -> Result) throws -> Result {
        let connection = try checkOut()
        do {
            let result = try body(connection)
            checkIn(connection, failure: nil)
            return result
        } catch {
            checkIn(connection, failure: error)
            throw error
        }
    }

    /// Runs `body` in one transaction on one connection: committed when it returns, rolled back
    /// when it throws.
    public func transaction<Result>(_ body: (PostgresConnection) throws -> Result) throws -> Result {
        try withConnection { connection in try connection.transaction { try body(connection) } }
    }

    /// A connection of its own, outside the pool: for a thread that listens for notifications.
    public func dedicatedConnection() throws -> PostgresConnection { try PostgresConnection(url: url) }

    /// Closes the idle connections (those in use close as they come back, once the pool is gone).
    public func close() {
        pool.withLock { pool in
            pool.open -= pool.idle.count
            pool.idle.removeAll()
        }
    }

    private func checkOut() throws -> PostgresConnection {
        let deadline = ContinuousClock.now + configuration.checkoutTimeout
        let maxConnections = configuration.maxConnections
        while true {
            let (woken, taken) = pool.wait(until: deadline, while: { $0.idle.isEmpty && $0.open >= maxConnections }) { pool -> PostgresConnection?? in
                if let connection = pool.idle.popLast() { return .some(connection) }
                guard pool.open < maxConnections else { return nil }
                pool.open += 1
                return .some(nil)
            }
            guard woken, let taken else {
                throw PostgresError(.poolExhausted, message: "all \(maxConnections) connections stayed in use for \(configuration.checkoutTimeout)")
            }
            if let connection = taken {
                guard connection.closedWhileIdle() else { return connection }
                release()
                continue
            }
            do {
                return try PostgresConnection(url: url)
            } catch {
                release()
                throw error
            }
        }
    }

    private func checkIn(_ connection: PostgresConnection, failure: (any Error)?) {
        let broken = connection.isBroken || (failure as? PostgresError)?.breaksTheConnection == true
        if broken || connection.isInTransaction {
            release()
            return
        }
        pool.withLock { $0.idle.append(connection) }
        pool.signal()
    }

    /// A connection that was open is gone: another caller may open one.
    private func release() {
        pool.withLock { $0.open -= 1 }
        pool.signal()
    }
}
