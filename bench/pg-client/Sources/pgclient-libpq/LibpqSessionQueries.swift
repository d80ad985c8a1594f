import CLibpq
import Foundation
import PGClientBench

/// The workload on libpq, as a `Postgres` module on it would run it: one `PGconn` owned by the
/// calling thread, both statements prepared once (`PQprepare`), then `PQexecPrepared` with
/// binary parameters and binary results, decoded by hand.
final class LibpqSessionQueries: SessionQueries {
    private let connection: OpaquePointer

    private static let int8OID: Oid = 20, byteaOID: Oid = 17, timestamptzOID: Oid = 1184

    init(socketDirectory: String, database: String, user: String) throws {
        // Keyword/value form, so a socket directory with spaces in it needs no quoting rules.
        let keywords = ["host", "dbname", "user"], values = [socketDirectory, database, user]
        connection = withCStrings(keywords) { keys in
            withCStrings(values) { vals in PQconnectdbParams(keys, vals, 0) }
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            defer { PQfinish(connection) }
            throw BenchError("connect: \(String(cString: PQerrorMessage(connection)))")
        }
        try prepare("lookup", Workload.lookupSQL, types: [Self.int8OID])
        try prepare("insert", Workload.insertSQL, types: [Self.int8OID, Self.byteaOID, Self.timestamptzOID, Self.timestamptzOID])
    }

    deinit { PQfinish(connection) }

    func lookup(sessionID: Int64) throws -> SessionRow {
        let result = try execute("lookup", [.int8(sessionID)], expecting: PGRES_TUPLES_OK)
        defer { PQclear(result) }
        guard PQntuples(result) == 1 else { throw BenchError("session \(sessionID): \(PQntuples(result)) rows") }
        return SessionRow(userID: Self.int64(result, 0), username: String(decoding: Self.bytes(result, 1), as: UTF8.self),
                          secretHash: Array(Self.bytes(result, 2)),
                          expiresAt: Self.date(result, 3), lastSeenAt: Self.date(result, 4))
    }

    func insertSession(userID: Int64, secretHash: [UInt8], now: Date) throws -> Int64 {
        try command("BEGIN")
        do {
            let result = try execute("insert", [.int8(userID), .bytes(secretHash), .timestamp(now),
                                                .timestamp(now.addingTimeInterval(Workload.sessionLifetime))],
                                     expecting: PGRES_TUPLES_OK)
            let id = Self.int64(result, 0)
            PQclear(result)
            try command("COMMIT")
            return id
        } catch {
            try? command("ROLLBACK")
            throw error
        }
    }

    // MARK: libpq calls

    /// A parameter in PostgreSQL's binary send format: big-endian integers, and timestamps as
    /// microseconds since 2000-01-01 UTC.
    private enum Parameter {
        case int8(Int64), bytes([UInt8]), timestamp(Date)

        var binary: [UInt8] {
            switch self {
            case .int8(let value): withUnsafeBytes(of: value.bigEndian, Array.init)
            case .bytes(let bytes): bytes
            case .timestamp(let date):
                withUnsafeBytes(of: Int64(((date.timeIntervalSince1970 - postgresEpoch) * 1e6).rounded()).bigEndian, Array.init)
            }
        }
    }

    private static let postgresEpoch: TimeInterval = 946_684_800

    private func prepare(_ name: String, _ sql: String, types: [Oid]) throws {
        let result = PQprepare(connection, name, sql, Int32(types.count), types)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw BenchError("prepare \(name): \(Self.message(result))") }
    }

    private func execute(_ name: String, _ parameters: [Parameter], expecting status: ExecStatusType) throws -> OpaquePointer {
        let buffers = parameters.map(\.binary)
        let lengths = buffers.map { Int32($0.count) }
        let formats = [Int32](repeating: 1, count: buffers.count)
        let result = withPointers(buffers) { values in
            PQexecPrepared(connection, name, Int32(buffers.count), values, lengths, formats, 1)
        }
        guard let result, PQresultStatus(result) == status else {
            defer { PQclear(result) }
            throw BenchError("\(name): \(result.map(Self.message) ?? String(cString: PQerrorMessage(connection)))")
        }
        return result
    }

    private func command(_ sql: String) throws {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw BenchError("\(sql): \(Self.message(result))") }
    }

    private static func message(_ result: OpaquePointer?) -> String { String(cString: PQresultErrorMessage(result)) }

    private static func bytes(_ result: OpaquePointer, _ column: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: PQgetvalue(result, 0, column), count: Int(PQgetlength(result, 0, column)))
    }

    private static func int64(_ result: OpaquePointer, _ column: Int32) -> Int64 {
        Int64(bigEndian: bytes(result, column).loadUnaligned(as: Int64.self))
    }

    private static func date(_ result: OpaquePointer, _ column: Int32) -> Date {
        Date(timeIntervalSince1970: postgresEpoch + Double(int64(result, column)) / 1e6)
    }
}

/// `body` gets a C array of pointers to copies of `strings`, NUL-terminated, with a NULL at the end.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// `body` gets a C array of pointers into `buffers`, valid for the call.
private func withPointers<R>(_ buffers: [[UInt8]], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let flat = buffers.flatMap { $0 }
    return flat.withUnsafeBufferPointer { base in
        var offset = 0
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(buffers.count)
        for buffer in buffers {
            pointers.append(UnsafeRawPointer(base.baseAddress!.advanced(by: offset)).assumingMemoryBound(to: CChar.self))
            offset += buffer.count
        }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
