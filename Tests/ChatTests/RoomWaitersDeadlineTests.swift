@testable import Chat
import HeapModule
import Testing

/// What RoomWaiters still owns of its deadline heap: the order of its entries (earliest deadline
/// first, ties by id) and dropping the entries of waiters already answered. The timeouts themselves
/// are tested through nginx (ChatAPITests).
struct RoomWaitersDeadlineTests {
    @Test func deadlinesComeEarliestFirstTiesByIDAndAnsweredOnesCanBeDropped() {
        let start = ContinuousClock.now
        var heap = Heap<RoomWaiters.Deadline>()
        let offsets = (0..<500).map { _ in Int.random(in: 0..<100) }
        for (index, offset) in offsets.enumerated().shuffled() {
            heap.insert(.init(deadline: start + .milliseconds(offset), roomID: 1, id: UInt64(index)))
        }
        heap.removeAll { $0.id % 2 == 1 }
        #expect(heap.count == 250)
        var popped: [(ContinuousClock.Instant, UInt64)] = []
        while let entry = heap.popMin() { popped.append((entry.deadline, entry.id)) }
        let expected = offsets.enumerated().filter { $0.offset % 2 == 0 }
            .map { (start + .milliseconds($0.element), UInt64($0.offset)) }.sorted { $0 < $1 }
        #expect(popped.map(\.0) == expected.map(\.0))
        #expect(popped.map(\.1) == expected.map(\.1))
        #expect(heap.min == nil)
    }
}
