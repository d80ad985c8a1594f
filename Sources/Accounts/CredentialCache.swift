import Foundation
import Locking

/// Sessions and tokens recently read from the database, so that authenticating a request costs a
/// dictionary lookup and a BLAKE2b of 32 bytes, not a database round-trip.
///
/// An entry is trusted for `lifetime` and then read again, which is how a deletion made by another
/// process (the CLI) is seen. Revocations made here evict the entry at once.
final class CredentialCache: Sendable {
    enum Key: Hashable, Sendable {
        case session(Int64)
        case token(Int64)
    }

    private struct Entry {
        let credential: StoredCredential
        let loadedAt: ContinuousClock.Instant
        /// When the credential was last used, as this process saw it.
        var lastUsed: Date?
        /// When `lastUsed` was last written to the database.
        var lastWritten: Date?
    }

    /// `last_seen_at` / `last_used_at` are written at most this often per credential.
    static let touchInterval: TimeInterval = 60

    private let lifetime: Duration
    private let entries = Locked<[Key: Entry]>([:])

    init(lifetime: Duration) { self.lifetime = lifetime }

    /// The credential for `key`, from memory or from `load`.
    func credential(_ key: Key, load: () throws -> StoredCredential?) rethrows -> StoredCredential? {
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[key] }), now - entry.loadedAt < lifetime {
            return entry.credential
        }
        guard let credential = try load() else {
            entries.withLock { _ = $0.removeValue(forKey: key) }
            return nil
        }
        entries.withLock { entries in
            let previous = entries[key]
            entries[key] = Entry(credential: credential, loadedAt: now,
                                 lastUsed: max(previous?.lastUsed ?? .distantPast, credential.lastUsedAt ?? .distantPast),
                                 lastWritten: previous?.lastWritten ?? credential.lastUsedAt)
        }
        return credential
    }

    /// When the credential was last used before now.
    func lastUsed(_ key: Key) -> Date? {
        entries.withLock { $0[key]?.lastUsed }
    }

    /// Records a use; returns `true` when it is time to write it to the database.
    func recordUse(_ key: Key, at now: Date) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[key] else { return false }
            entry.lastUsed = now
            let due = now.timeIntervalSince(entry.lastWritten ?? .distantPast) >= Self.touchInterval
            if due { entry.lastWritten = now }
            entries[key] = entry
            return due
        }
    }

    func evict(_ key: Key) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}
