import CPostgres
import Foundation

/// One connection to a PostgreSQL server, through libpq: blocking calls, so use it from a thread
/// of your own, never from Swift's cooperative pool.
///
/// A connection is used by one thread at a time (libpq's rule); it may move between threads, as
/// `PostgresDatabase`'s pool hands it out. Statements are prepared on first use and kept for the
/// connection's life, so a statement the code runs often is parsed and planned once.
public final class PostgresConnection: @unchecked Sendable {
    let raw: OpaquePointer
    private var prepared: [String: String] = [:]
    /// Statements built at run time (a list of a different length each time) would fill the
    /// server's memory with plans used once: past this many, new ones run unprepared.
    private static let maxPrepared = 256

    /// Connects to `url` (libpq's URI or key=value form: `postgresql:///tradedesk?host=/run/postgresql`,
    /// `postgresql://desk@db.example/tradedesk?sslmode=verify-full`). The URL's own settings win over
    /// the defaults here: a 5 s connect timeout, and UTF-8.
    public init(url: String) throws {
        // libpq reads both arrays up to a NULL keyword.
        let keys = ["connect_timeout", "fallback_application_name", "dbname", "client_encoding", nil]
        let values = ["5", "tradedesk", url, "UTF8", nil]
        let connection = withCStrings(keys) { keys in withCStrings(values) { values in PQconnectdbParams(keys, values, 1) } }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let error = PostgresError.connection(connection, "cannot connect")
            PQfinish(connection)
            throw error
        }
        // libpq prints the server's notices to stderr, outside the log's format (and a closing
        // connection's "FATAL: terminating connection" with them); what matters arrives as errors.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        raw = connection
    }

    deinit { PQfinish(raw) }

    /// The link is gone (the server closed it, or a call saw it break): open a new connection.
    public var isBroken: Bool { PQstatus(raw) != CONNECTION_OK }

    /// Inside a transaction block (one that failed, too): not to be handed to another caller as it is.
    var isInTransaction: Bool { PQtransactionStatus(raw) != PQTRANS_IDLE }

    /// The socket, for a thread that waits for notifications with `poll` or `epoll`.
    public var socket: Int32 { PQsocket(raw) }

    /// How a statement is planned.
    public enum Planning: Sendable {
        /// Prepared on first use, its plan kept by the server: for statements whose best plan does
        /// not depend on their values (a lookup by primary key).
        case prepared
        /// Planned at each run for its values. PostgreSQL's plan for a prepared statement turns
        /// generic after five runs, made for any values; a statement over arrays of ids, on a table
        /// that was young when the plan was made, can keep scanning the whole table with that plan.
        case eachRun
    }

    /// Runs one statement with `parameters` as `$1`, `$2`…: one round trip.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = [], planning: Planning = .prepared) throws -> PostgresResult {
        let texts = parameters.map(\.postgresText)
        let result = try withCStrings(texts) { values -> OpaquePointer? in
            let count = Int32(values.count)
            if planning == .prepared, let name = try statement(sql, parameterCount: count) {
                return PQexecPrepared(raw, name, count, values, nil, nil, 1)
            }
            return PQexecParams(raw, sql, count, nil, values, nil, nil, 1)
        }
        return try check(result)
    }

    /// Runs `sql`, which may hold several statements and no parameters (a migration), with the
    /// simple protocol.
    public func execute(_ sql: String) throws {
        _ = try check(PQexec(raw, sql))
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        try query("BEGIN")
        let result: Result
        do {
            result = try body()
        } catch {
            if !isBroken { _ = try? query("ROLLBACK") }
            throw error
        }
        try query("COMMIT")
        return result
    }

    // MARK: Notifications

    /// Starts listening on `channel` (an identifier: letters, digits and underscores).
    public func listen(_ channel: String) throws {
        precondition(channel.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "not a channel name: \(channel)")
        try execute("LISTEN \(channel)")
    }

    /// Reads what has arrived on the socket and returns the channels of the notifications received
    /// since the last call (a channel once per notification). Throws when the connection broke.
    public func notifications() throws -> [String] {
        guard PQconsumeInput(raw) == 1 else { throw PostgresError.connection(raw, "the connection broke") }
        var channels: [String] = []
        while let notification = PQnotifies(raw) {
            channels.append(String(cString: notification.pointee.relname))
            PQfreemem(notification)
        }
        return channels
    }

    /// Whether the server closed this idle connection (it restarted, or an administrator ended the
    /// session): an idle socket that has something to read holds that news, or a notification.
    func closedWhileIdle() -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        // A server that ends the session sends an error first and closes after: libpq reads the
        // error (as a notice) without seeing the close, so read until nothing is left to read.
        while poll(&descriptor, 1, 0) > 0 {
            if (try? notifications()) == nil || isBroken { return true }
        }
        return isBroken
    }

    // MARK: Private

    /// The prepared statement's name, preparing it now if this connection has not yet; `nil` to run
    /// it unprepared.
    private func statement(_ sql: String, parameterCount: Int32) throws -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.maxPrepared else { return nil }
        let name = "s\(prepared.count)"
        _ = try check(PQprepare(raw, name, sql, parameterCount, nil))
        prepared[sql] = name
        return name
    }

    private func check(_ result: OpaquePointer?) throws -> PostgresResult {
        guard let result else { throw PostgresError.connection(raw, "the connection broke") }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(result)
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = PQresultErrorMessage(result).map { String(cString: $0) } ?? "unknown error"
            PQclear(result)
            // No SQLSTATE: the statement never reached the server, or its answer never came back.
            if state == nil || isBroken { throw PostgresError(.connection, sqlState: state, message: message) }
            throw PostgresError(.statement, sqlState: state, message: message)
        }
    }
}

/// `body` with `strings` as a C array of C strings (`nil` stays a NULL), valid only during the call.
private func withCStrings<Result>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws -> Result) rethrows -> Result {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { for copy in copies { free(copy) } }
    return try body(copies.map { $0.map { UnsafePointer($0) } })
}
