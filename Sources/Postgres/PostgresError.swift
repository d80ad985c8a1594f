import CPostgres

/// A failure reported by libpq or the server.
///
/// `sqlState` is the server's five-character code (`23505` a unique violation, `40P01` a deadlock,
/// `57P01` the server shutting down); it is `nil` when the failure is the link's: the server could
/// not be reached, or the connection broke. The message is the server's or libpq's own, for the
/// log: it may name the socket's path or the host, so clients are told `StorageFault`'s text
/// instead (see `storageFault`). libpq never puts the password in a message.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server could not be reached, or the connection broke during the call.
        case connection
        /// The server refused the statement (`sqlState` says why).
        case statement
        /// A value in a result is not what the code asked for (a column's type, a NULL).
        case decoding
        /// Every connection of the pool stayed in use for as long as a caller may wait.
        case poolExhausted
    }

    public let kind: Kind
    public let sqlState: String?
    public let message: String

    public init(_ kind: Kind, sqlState: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String {
        let text = message.trimmingWhitespace
        return sqlState.map { "PostgreSQL \($0): \(text)" } ?? "PostgreSQL: \(text)"
    }

    /// A unique constraint refused the row.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// The failure tells nothing about the statement, only about the link or the server's state:
    /// the connection that saw it must not be used again. (Class 08 is the connection's, 57P0x the
    /// server shutting down or restarting.)
    var breaksTheConnection: Bool {
        kind == .connection || sqlState?.hasPrefix("08") == true || sqlState?.hasPrefix("57P") == true
    }

    /// The text of libpq's last error on `connection`.
    static func connection(_ connection: OpaquePointer?, _ context: String) -> PostgresError {
        let detail = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "out of memory"
        return PostgresError(.connection, message: "\(context): \(detail)")
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
