import Locking

/// How many requests one owner (a user) may have held at once, so that nobody can take every place
/// under the server's own cap (`MAX_HELD_REQUESTS`) and starve everyone else.
public final class HeldRequestQuota: Sendable {
    public let limit: Int
    private let held = Locked<[Int64: Int]>([:])

    public init(limit: Int) { self.limit = limit }

    /// Takes a place for `owner`; `false` when it holds `limit` already.
    func reserve(_ owner: Int64) -> Bool {
        held.withLock { held in
            let count = held[owner, default: 0]
            guard count < limit else { return false }
            held[owner] = count + 1
            return true
        }
    }

    func release(_ owner: Int64) {
        held.withLock { held in
            let count = held[owner, default: 0] - 1
            // An owner with nothing held has no entry: the table is as large as the held requests.
            held[owner] = count > 0 ? count : nil
        }
    }
}
