/// The held long-polls' deadlines, earliest first: the timer finds what is due in O(log n) a
/// waiter, however many wait. Entries of waiters already answered stay until they surface and are
/// then skipped (or until `rebuild` drops them), which is cheaper than finding them.
struct DeadlineHeap {
    struct Entry {
        let deadline: ContinuousClock.Instant
        let roomID: Int64
        let id: UInt64
    }

    private var entries: [Entry] = []

    var count: Int { entries.count }
    var earliest: Entry? { entries.first }

    mutating func insert(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func removeEarliest() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let earliest = entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count, entries[right].deadline < entries[smallest].deadline { smallest = right }
            guard smallest != parent else { return earliest }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }

    /// Keeps only the entries `isLive` accepts.
    mutating func rebuild(keeping isLive: (Entry) -> Bool) {
        let live = entries.filter(isLive)
        entries = []
        entries.reserveCapacity(live.count)
        for entry in live { insert(entry) }
    }
}
