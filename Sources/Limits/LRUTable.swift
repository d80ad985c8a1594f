/// A dictionary that holds at most `capacity` entries: past it, the least recently used one is
/// forgotten.
///
/// Every table the responder keys by something a client chooses (a user, an address, a token id)
/// is one of these, so that no sequence of requests can make memory grow without bound. Entries
/// sit in a doubly linked list threaded through an array, most recently used first, so a use, an
/// insert and an eviction each cost a dictionary lookup and a few index updates.
public struct LRUTable<Key: Hashable, Value> {
    public let capacity: Int
    fileprivate struct Node {
        var key: Key
        var value: Value
        var newer: Int
        var older: Int
    }
    private var slots: [Key: Int] = [:]
    private var nodes: [Node] = []
    private var freeSlots: [Int] = []
    private var newest = -1
    private var oldest = -1

    public init(capacity: Int) {
        precondition(capacity > 0, "an LRUTable needs room for at least one entry")
        self.capacity = capacity
    }

    public var count: Int { slots.count }

    /// Reading an entry counts as a use; so does writing one.
    public subscript(key: Key) -> Value? {
        mutating get {
            guard let slot = slots[key] else { return nil }
            moveToNewest(slot)
            return nodes[slot].value
        }
        set {
            guard let newValue else {
                removeValue(forKey: key)
                return
            }
            if let slot = slots[key] {
                nodes[slot].value = newValue
                moveToNewest(slot)
                return
            }
            if slots.count == capacity { removeValue(forKey: nodes[oldest].key) }
            let node = Node(key: key, value: newValue, newer: -1, older: newest)
            let slot: Int
            if let free = freeSlots.popLast() {
                nodes[free] = node
                slot = free
            } else {
                nodes.append(node)
                slot = nodes.count - 1
            }
            if newest >= 0 { nodes[newest].newer = slot }
            newest = slot
            if oldest < 0 { oldest = slot }
            slots[key] = slot
        }
    }

    /// The entry without counting a use.
    public func peek(_ key: Key) -> Value? { slots[key].map { nodes[$0].value } }

    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard let slot = slots.removeValue(forKey: key) else { return nil }
        unlink(slot)
        freeSlots.append(slot)
        return nodes[slot].value
    }

    private mutating func moveToNewest(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (nodes[slot].newer, nodes[slot].older)
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
    }
}

extension LRUTable: Sendable where Key: Sendable, Value: Sendable {}
extension LRUTable.Node: Sendable where Key: Sendable, Value: Sendable {}
