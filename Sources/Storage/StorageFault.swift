import GRDB

/// A database failure that is the disk's or the file's fault, not the request's: the disk is full,
/// the file cannot be written, or another writer held the lock too long.
///
/// Such a failure answers 503 with a message that says what is wrong, because the same request
/// will work once an operator has freed space or fixed the file. SQLite rolls back the failed
/// statement's transaction, so nothing half-written is left behind and the open connections stay
/// usable: recovery needs no restart.
public enum StorageFault: Error, Sendable, Equatable, CustomStringConvertible {
    case diskFull
    case readOnly
    case ioError
    case busy
    /// The database server cannot be reached: it is down or restarting, or the link to it broke.
    case unreachable

    /// The fault behind `error`, or nil when `error` is not a storage fault (a constraint, a bug).
    public init?(_ error: any Error) {
        if let fault = error as? StorageFault { self = fault; return }
        if let reporting = error as? any StorageFaultReporting {
            guard let fault = reporting.storageFault else { return nil }
            self = fault
            return
        }
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_FULL: self = .diskFull
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM: self = .readOnly
        case .SQLITE_IOERR: self = .ioError
        case .SQLITE_BUSY, .SQLITE_LOCKED: self = .busy
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .diskFull: "the database disk is full"
        case .readOnly: "the database is read-only"
        case .ioError: "the database file cannot be written (I/O error)"
        case .busy: "the database is busy"
        case .unreachable: "the database server cannot be reached"
        }
    }

    /// Seconds a client should wait before retrying.
    public var retryAfter: Int { self == .busy ? 1 : 5 }
}

/// An error of another backend that knows which `StorageFault`, if any, it is.
public protocol StorageFaultReporting: Error {
    var storageFault: StorageFault? { get }
}
