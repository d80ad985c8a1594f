import Storage

extension PostgresError: StorageFaultReporting {
    /// What clients are told: the server's state, never its message (which may name a socket's
    /// path or a host). A statement the server refused for its own content (a constraint, a bug)
    /// is no storage fault.
    public var storageFault: StorageFault? {
        switch kind {
        case .connection: return .unreachable
        case .poolExhausted: return .busy
        case .decoding: return nil
        case .statement: break
        }
        switch sqlState {
        case "53100": return .diskFull
        case "25006": return .readOnly
        case "58030": return .ioError
        case "40001", "40P01", "55P03", "53300", "53200": return .busy
        case let state? where state.hasPrefix("08") || state.hasPrefix("57P"): return .unreachable
        default: return nil
        }
    }
}
