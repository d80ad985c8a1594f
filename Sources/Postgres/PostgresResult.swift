import CPostgres
import Foundation

/// The rows a statement returned, in PostgreSQL's binary form: integers, dates and bytes are read
/// straight from the wire, with no text to parse.
///
/// Read it on the thread that ran the statement, before the next one on the same connection.
public final class PostgresResult {
    let raw: OpaquePointer
    /// Rows returned, or rows changed by an `INSERT`, `UPDATE` or `DELETE` without `RETURNING`.
    public let affectedRows: Int

    init(_ raw: OpaquePointer) {
        self.raw = raw
        let tuples = Int(PQntuples(raw))
        let changed = PQcmdTuples(raw).flatMap { Int(String(cString: $0)) }
        affectedRows = PQnfields(raw) > 0 ? tuples : (changed ?? 0)
    }

    deinit { PQclear(raw) }

    /// The rows, in the order the statement returned them.
    public var rows: Rows { Rows(result: self) }

    /// The first row's first column, or `nil` when no row came back.
    public func scalar<Value: PostgresDecodable>(_ type: Value.Type = Value.self) throws -> Value? {
        try rows.first.map { try $0.decode(0, as: Value.self) }
    }

    public struct Rows: RandomAccessCollection {
        let result: PostgresResult
        public var startIndex: Int { 0 }
        public var endIndex: Int { Int(PQntuples(result.raw)) }
        public subscript(position: Int) -> PostgresRow { PostgresRow(result: result, row: Int32(position)) }
    }
}

/// One row of a `PostgresResult`.
public struct PostgresRow {
    let result: PostgresResult
    let row: Int32

    /// Column `column` (from 0), decoded as `Value`; throws, naming the column, when the column's type
    /// cannot be one (a `text` read as an integer) or it is `NULL` and `Value` is not optional.
    public func decode<Value: PostgresDecodable>(_ column: Int, as type: Value.Type = Value.self) throws -> Value {
        let raw = result.raw
        let column = Int32(column)
        guard column < PQnfields(raw) else {
            throw PostgresError(.decoding, message: "no column \(column) in a row of \(PQnfields(raw))")
        }
        let cell = PostgresCell(type: PQftype(raw, column),
                                bytes: PQgetisnull(raw, row, column) != 0 ? nil
                                    : UnsafeRawBufferPointer(start: PQgetvalue(raw, row, column), count: Int(PQgetlength(raw, row, column))))
        do {
            return try Value(postgres: cell)
        } catch let error as PostgresError {
            let name = PQfname(raw, column).map { String(cString: $0) } ?? "\(column)"
            throw PostgresError(.decoding, message: "column \(name): \(error.message)")
        }
    }

    /// The column named `name`, decoded as `Value`.
    public func decode<Value: PostgresDecodable>(_ name: String, as type: Value.Type = Value.self) throws -> Value {
        let column = PQfnumber(result.raw, name)
        guard column >= 0 else { throw PostgresError(.decoding, message: "no column named \(name)") }
        return try decode(Int(column), as: type)
    }
}
