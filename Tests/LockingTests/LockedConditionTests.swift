import Foundation
import Locking
import Testing

struct LockedConditionTests {
    @Test func aTimedWaitEndsAtItsDeadlineAndASignalEndsItSooner() {
        let flag = LockedCondition(false)
        let started = ContinuousClock.now
        let timedOut = flag.wait(until: .now + .milliseconds(50), while: { !$0 }) { _ in }
        #expect(!timedOut.woken)
        #expect(ContinuousClock.now - started >= .milliseconds(50))

        let setter = Thread {
            usleep(20_000)
            flag.withLock { $0 = true }
            flag.signal()
        }
        setter.start()
        let woken = flag.wait(until: .now + .seconds(10), while: { !$0 }) { $0 }
        #expect(woken.woken && woken.result)
    }
}
