import Foundation

/// One value of a result in binary form: its type's OID and its bytes (`nil` for `NULL`).
public struct PostgresCell {
    public let type: UInt32
    public let bytes: UnsafeRawBufferPointer?

    /// The type OIDs this module reads (`pg_type.oid`, fixed for built-in types).
    enum OID {
        static let bool: UInt32 = 16, bytea: UInt32 = 17, name: UInt32 = 19, int8: UInt32 = 20, int2: UInt32 = 21
        static let int4: UInt32 = 23, text: UInt32 = 25, float4: UInt32 = 700, float8: UInt32 = 701
        static let unknown: UInt32 = 705, bpchar: UInt32 = 1042, varchar: UInt32 = 1043
        static let timestamp: UInt32 = 1114, timestamptz: UInt32 = 1184
    }

    func nonNull() throws -> UnsafeRawBufferPointer {
        guard let bytes else { throw PostgresError(.decoding, message: "NULL where a value was expected") }
        return bytes
    }

    func mismatch(_ swiftType: Any.Type) -> PostgresError {
        PostgresError(.decoding, message: "a value of type OID \(type) cannot be read as \(swiftType)")
    }

    /// A big-endian integer of `count` bytes.
    func integer(_ bytes: UnsafeRawBufferPointer) -> Int64 {
        var value: Int64 = bytes.first.map { Int64(Int8(bitPattern: $0)) } ?? 0
        for byte in bytes.dropFirst() { value = value << 8 | Int64(byte) }
        return value
    }
}

/// A Swift type a result's value can be read as.
public protocol PostgresDecodable {
    init(postgres cell: PostgresCell) throws
}

extension Int64: PostgresDecodable {
    public init(postgres cell: PostgresCell) throws {
        let bytes = try cell.nonNull()
        switch cell.type {
        case PostgresCell.OID.int8, PostgresCell.OID.int4, PostgresCell.OID.int2: self = cell.integer(bytes)
        default: throw cell.mismatch(Int64.self)
        }
    }
}

extension Int: PostgresDecodable {
    public init(postgres cell: PostgresCell) throws { self = Int(try Int64(postgres: cell)) }
}

extension Bool: PostgresDecodable {
    public init(postgres cell: PostgresCell) throws {
        let bytes = try cell.nonNull()
        guard cell.type == PostgresCell.OID.bool, bytes.count == 1 else { throw cell.mismatch(Bool.self) }
        self = bytes[0] != 0
    }
}

extension Double: PostgresDecodable {
    public init(postgres cell: PostgresCell) throws {
        let bytes = try cell.nonNull()
        switch cell.type {
        case PostgresCell.OID.float8: self = Double(bitPattern: UInt64(bitPattern: cell.integer(bytes)))
        case PostgresCell.OID.float4: self = Double(Float(bitPattern: UInt32(truncatingIfNeeded: cell.integer(bytes))))
        default: throw cell.mismatch(Double.self)
        }
    }
}

extension String: PostgresDecodable {
    public init(postgres cell: PostgresCell) throws {
        let bytes = try cell.nonNull()
        switch cell.type {
        case PostgresCell.OID.text, PostgresCell.OID.varchar, PostgresCell.OID.name, PostgresCell.OID.bpchar, PostgresCell.OID.unknown:
            self = String(decoding: bytes, as: UTF8.self)
        default: throw cell.mismatch(String.self)
        }
    }
}

extension Array: PostgresDecodable where Element == UInt8 {
    public init(postgres cell: PostgresCell) throws {
        let bytes = try cell.nonNull()
        guard cell.type == PostgresCell.OID.bytea else { throw cell.mismatch([UInt8].self) }
        self = Array(bytes)
    }
}

extension Data: PostgresDecodable {
    public init(postgres cell: PostgresCell) throws { self = Data(try [UInt8](postgres: cell)) }
}

/// `timestamptz` (and `timestamp`, taken as UTC): microseconds since 2000-01-01 00:00 UTC.
extension Date: PostgresDecodable {
    static let postgresEpoch: Int64 = 946_684_800

    public init(postgres cell: PostgresCell) throws {
        let bytes = try cell.nonNull()
        guard cell.type == PostgresCell.OID.timestamptz || cell.type == PostgresCell.OID.timestamp, bytes.count == 8 else {
            throw cell.mismatch(Date.self)
        }
        let microseconds = cell.integer(bytes) + Self.postgresEpoch * 1_000_000
        // A whole number of milliseconds divides as SQLite's dates do (`Date.toTheMillisecond`).
        if microseconds % 1000 == 0 {
            self = Date(timeIntervalSince1970: Double(microseconds / 1000) / 1000)
        } else {
            self = Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
        }
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgres cell: PostgresCell) throws {
        self = cell.bytes == nil ? nil : try Wrapped(postgres: cell)
    }
}
