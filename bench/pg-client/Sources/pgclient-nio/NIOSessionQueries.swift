import Foundation
import Logging
import NIOCore
import NIOPosix
import PGClientBench
import PostgresNIO

/// The workload on postgres-nio, driven from a plain thread: the connection lives on an NIO event
/// loop, and the thread blocks in `EventLoopFuture.wait()` for each answer. That is the bridge a
/// responder thread would need; `wait()` is never called inside async code.
///
/// Three ways in, since postgres-nio has a prepared-statement API of each kind and a plain one:
/// - `prepared`: `PostgresDatabase.prepare(query:)` once, then `PreparedQuery.execute(_:)` with
///   `PostgresData` binds: futures all the way, but an API the package documents as on its way
///   out. Its rows must be read as `PostgresData` (`makeRandomAccess()[data:]`): `decode` on them
///   fails, as the row description it keeps from preparing says text while the cells are binary.
/// - `async`: a `PostgresPreparedStatement` through `PostgresConnection.execute(_:logger:)`, the
///   API the package recommends. It is async only, so each call is a task started with
///   `makeFutureWithTask`, waited for from the thread: one more hop per query.
/// - `query`: `PostgresConnection.query(_:logger:)`, futures and current, but with no named
///   statement: the server parses and plans the SQL on every call.
final class NIOSessionQueries: SessionQueries {
    enum API: String { case prepared, async, query }

    private let connection: PostgresConnection
    private let logger: Logger
    private let api: API
    private let lookupQuery: PreparedQuery
    private let insertQuery: PreparedQuery

    init(group: any EventLoopGroup, options: Options, id: Int, api: API) throws {
        var logger = Logger(label: "pgclient-nio")
        logger.logLevel = .error
        self.logger = logger
        self.api = api
        let configuration = PostgresConnection.Configuration(
            unixSocketPath: options.socketDirectory + "/.s.PGSQL.5432",
            username: options.user, password: nil, database: options.database)
        connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
        lookupQuery = try connection.prepare(query: Workload.lookupSQL).wait()
        insertQuery = try connection.prepare(query: Workload.insertSQL).wait()
    }

    deinit { try? connection.close().wait() }

    func lookup(sessionID: Int64) throws -> SessionRow {
        switch api {
        case .prepared:
            let rows = try lookupQuery.execute([PostgresData(int64: sessionID)]).wait()
            guard rows.count == 1 else { throw BenchError("session \(sessionID): \(rows.count) rows") }
            let row = rows[0].makeRandomAccess()
            guard let userID = row[data: 0].int64, let username = row[data: 1].string, let hash = row[data: 2].bytes,
                  let expiresAt = row[data: 3].date, let lastSeenAt = row[data: 4].date
            else { throw BenchError("session \(sessionID): undecodable row") }
            return SessionRow(userID: userID, username: username, secretHash: hash, expiresAt: expiresAt, lastSeenAt: lastSeenAt)
        case .query:
            let rows = try connection.query(LookupStatement(sessionID: sessionID).query, logger: logger).wait().rows
            guard rows.count == 1 else { throw BenchError("session \(sessionID): \(rows.count) rows") }
            return try Self.session(rows[0].decode(LookupStatement.Row.self))
        case .async:
            let (connection, logger) = (self.connection, self.logger)
            return try connection.eventLoop.makeFutureWithTask {
                for try await row in try await connection.execute(LookupStatement(sessionID: sessionID), logger: logger) {
                    return Self.session(row)
                }
                throw BenchError("session \(sessionID): no row")
            }.wait()
        }
    }

    func insertSession(userID: Int64, secretHash: [UInt8], now: Date) throws -> Int64 {
        let expires = now.addingTimeInterval(Workload.sessionLifetime)
        switch api {
        case .prepared:
            _ = try connection.query("BEGIN", logger: logger).wait()
            do {
                let rows = try insertQuery.execute([PostgresData(int64: userID), PostgresData(bytes: secretHash),
                                                    PostgresData(date: now), PostgresData(date: expires)]).wait()
                guard rows.count == 1, let id = rows[0].makeRandomAccess()[data: 0].int64 else { throw BenchError("insert: \(rows.count) rows") }
                _ = try connection.query("COMMIT", logger: logger).wait()
                return id
            } catch {
                _ = try? connection.query("ROLLBACK", logger: logger).wait()
                throw error
            }
        case .query:
            let statement = InsertStatement(userID: userID, secretHash: ByteBuffer(bytes: secretHash), createdAt: now, expiresAt: expires)
            _ = try connection.query("BEGIN", logger: logger).wait()
            do {
                let rows = try connection.query(statement.query, logger: logger).wait().rows
                guard rows.count == 1 else { throw BenchError("insert: \(rows.count) rows") }
                let id = try rows[0].decode(Int64.self)
                _ = try connection.query("COMMIT", logger: logger).wait()
                return id
            } catch {
                _ = try? connection.query("ROLLBACK", logger: logger).wait()
                throw error
            }
        case .async:
            let (connection, logger) = (self.connection, self.logger)
            let statement = InsertStatement(userID: userID, secretHash: ByteBuffer(bytes: secretHash), createdAt: now, expiresAt: expires)
            return try connection.eventLoop.makeFutureWithTask {
                try await connection.withTransaction(logger: logger) { connection in
                    for try await id in try await connection.execute(statement, logger: logger) { return id }
                    throw BenchError("insert: no row")
                }
            }.wait()
        }
    }

    private static func session(_ row: LookupStatement.Row) -> SessionRow {
        SessionRow(userID: row.0, username: row.1, secretHash: Array(row.2.readableBytesView), expiresAt: row.3, lastSeenAt: row.4)
    }
}

/// The lookup for the `async` API, and its SQL and binds for `query`.
struct LookupStatement: PostgresPreparedStatement {
    static let sql = Workload.lookupSQL
    typealias Row = (Int64, String, ByteBuffer, Date, Date)
    var sessionID: Int64

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(sessionID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: Self.sql, binds: makeBindings()) }
}

struct InsertStatement: PostgresPreparedStatement {
    static let sql = Workload.insertSQL
    typealias Row = Int64
    var userID: Int64
    var secretHash: ByteBuffer
    var createdAt: Date
    var expiresAt: Date

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(userID)
        bindings.append(secretHash)
        bindings.append(createdAt)
        bindings.append(expiresAt)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64.self) }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: Self.sql, binds: makeBindings()) }
}
