import Limits
import Testing

struct LRUTableTests {
    @Test func forgetsTheLeastRecentlyUsedFirst() {
        var table = LRUTable<Int, String>(capacity: 10)
        for key in 0..<10 { table[key] = "\(key)" }
        _ = table[0]  // a read is a use
        table[10] = "10"
        #expect(table.count <= 10)
        #expect(table.peek(0) == "0", "read just now")
        #expect(table.peek(10) == "10", "written just now")
        #expect(table.peek(1) == nil, "the least recently used")
    }

    @Test func staysWithinItsCapacityWhateverIsInserted() {
        var table = LRUTable<Int, Int>(capacity: 1000)
        for key in 0..<1_000_000 { table[key] = key }
        #expect(table.count <= 1000)
        #expect(table.peek(999_999) == 999_999)
    }

    @Test func removesWhatItIsAskedTo() {
        var table = LRUTable<Int, Int>(capacity: 100)
        for key in 0..<50 { table[key] = key }
        table[1] = nil
        #expect(table.peek(1) == nil)
        #expect(table.removeValue(forKey: 3) == 3)
        #expect(table.count == 48)
        table[50] = 50  // the freed slots are used again
        #expect(table.peek(50) == 50 && table.count == 49)
    }
}
