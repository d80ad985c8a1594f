import Locking

/// Held exchanges by id: the watcher finds an exchange from its epoll token, and shutdown finds the
/// ones that still need an answer.
final class HeldRegistry: Sendable {
    private let exchanges = Locked<[UInt64: FastCGIExchange]>([:])

    func insert(_ exchange: FastCGIExchange) {
        exchanges.withLock { $0[exchange.id] = exchange }
    }

    @discardableResult
    func remove(_ id: UInt64) -> FastCGIExchange? {
        exchanges.withLock { $0.removeValue(forKey: id) }
    }

    func lookup(_ id: UInt64) -> FastCGIExchange? {
        exchanges.withLock { $0[id] }
    }

    func all() -> [FastCGIExchange] {
        exchanges.withLock { Array($0.values) }
    }
}
