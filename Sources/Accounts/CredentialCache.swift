import Foundation
import Limits
import Locking

/// Sessions and tokens recently read from the database, so that authenticating a request costs a
/// dictionary lookup and a BLAKE2b of 32 bytes, not a database round-trip.
///
/// An entry is trusted for `lifetime` and then read again, which is how a deletion made by another
/// process (the CLI) is seen. Revocations made here evict the entry at once, and a load that was
/// under way while one happened is not kept: otherwise a row read just before the revocation
/// committed could be put back after it, and the revoked credential would work until it expired.
/// At most `capacity` credentials are kept, the least recently used going first.
final class CredentialCache: Sendable {
    enum Key: Hashable, Sendable {
        case session(Int64)
        case token(Int64)
    }

    private struct Entry: Sendable {
        let credential: StoredCredential
        let loadedAt: ContinuousClock.Instant
        /// When the credential was last used, as this process saw it.
        var lastUsed: Date?
        /// When `lastUsed` was last written to the database.
        var lastWritten: Date?
    }

    private struct State: Sendable {
        var entries: LRUTable<Key, Entry>
        /// Counts evictions, so that a load can tell whether one happened while it ran.
        var evictions: UInt64 = 0
    }

    /// `last_seen_at` / `last_used_at` are written at most this often per credential.
    static let touchInterval: TimeInterval = 60

    private let lifetime: Duration
    private let state: Locked<State>

    init(lifetime: Duration, capacity: Int) {
        self.lifetime = lifetime
        state = Locked(State(entries: LRUTable(capacity: capacity)))
    }

    /// The credential for `key`, from memory or from `load`.
    func credential(_ key: Key, load: () throws -> StoredCredential?) rethrows -> StoredCredential? {
        let now = ContinuousClock.now
        let (cached, evictionsBefore) = state.withLock { ($0.entries[key], $0.evictions) }
        if let cached, now - cached.loadedAt < lifetime { return cached.credential }
        let credential = try load()
        state.withLock { state in
            guard let credential else {
                state.entries.removeValue(forKey: key)
                return
            }
            guard state.evictions == evictionsBefore else { return }
            let previous = state.entries.peek(key)
            state.entries[key] = Entry(credential: credential, loadedAt: now,
                                       lastUsed: max(previous?.lastUsed ?? .distantPast, credential.lastUsedAt ?? .distantPast),
                                       lastWritten: previous?.lastWritten ?? credential.lastUsedAt)
        }
        return credential
    }

    /// When the credential was last used before now.
    func lastUsed(_ key: Key) -> Date? {
        state.withLock { $0.entries.peek(key)?.lastUsed }
    }

    /// Records a use; returns `true` when it is time to write it to the database.
    func recordUse(_ key: Key, at now: Date) -> Bool {
        state.withLock { state in
            guard var entry = state.entries.peek(key) else { return false }
            entry.lastUsed = now
            let due = now.timeIntervalSince(entry.lastWritten ?? .distantPast) >= Self.touchInterval
            if due { entry.lastWritten = now }
            state.entries[key] = entry
            return due
        }
    }

    /// Forgets `key` now; a load of it already under way is not kept either.
    func evict(_ key: Key) {
        state.withLock { state in
            state.entries.removeValue(forKey: key)
            state.evictions &+= 1
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
