import Foundation
import Locking
import Testing

struct LockedTests {
    @Test func everyIncrementFromManyThreadsCounts() {
        let counts = Locked<[Int: Int]>([:])
        let group = DispatchGroup()
        for thread in 0..<4 {
            group.enter()
            Thread {
                for index in 0..<10_000 { counts.withLock { $0[index % 16, default: 0] += thread + 1 } }
                group.leave()
            }.start()
        }
        group.wait()
        let total = counts.withLock { $0.values.reduce(0, +) }
        #expect(total == 100_000)  // 10,000 increments by each of 1, 2, 3 and 4
    }

    @Test func errorsPassThroughAndReleaseTheLock() {
        struct Boom: Error {}
        let value = Locked(1)
        #expect(throws: Boom.self) { try value.withLock { _ throws(Boom) in throw Boom() } }
        #expect(value.withLock { $0 } == 1)
    }
}
