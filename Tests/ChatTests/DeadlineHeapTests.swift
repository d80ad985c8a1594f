@testable import Chat
import Testing

struct DeadlineHeapTests {
    @Test func givesDeadlinesEarliestFirstAndRebuildKeepsTheLiveOnes() {
        let start = ContinuousClock.now
        var heap = DeadlineHeap()
        let offsets = (0..<500).map { _ in Int.random(in: 0..<10_000) }
        for (index, offset) in offsets.enumerated() {
            heap.insert(.init(deadline: start + .milliseconds(offset), roomID: 1, id: UInt64(index)))
        }
        heap.rebuild { $0.id % 2 == 0 }
        #expect(heap.count == 250)
        var popped: [ContinuousClock.Instant] = []
        while let entry = heap.removeEarliest() {
            #expect(entry.id % 2 == 0)
            popped.append(entry.deadline)
        }
        #expect(popped == offsets.enumerated().filter { $0.offset % 2 == 0 }.map { start + .milliseconds($0.element) }.sorted())
        #expect(heap.earliest == nil)
    }
}
