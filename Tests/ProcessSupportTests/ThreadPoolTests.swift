import Foundation
import Locking
import ProcessSupport
import Testing

struct ThreadPoolTests {
    @Test func runsJobsOnItsOwnThreadsInOrder() {
        let pool = ThreadPool(name: "test", threads: 1)
        pool.start()
        let seen = Locked<[Int]>([])
        let onOwnThread = Locked(true)
        for index in 0..<100 {
            pool.submit {
                onOwnThread.withLock { $0 = $0 && OwnThread.isCurrent }
                seen.withLock { $0.append(index) }
            }
        }
        pool.shutdown()
        #expect(seen.withLock { $0 } == Array(0..<100))
        #expect(onOwnThread.withLock { $0 })
    }

    @Test func refusesPastItsQueueBound() {
        let pool = ThreadPool(name: "test", threads: 1, maxQueued: 2)
        pool.start()
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        #expect(pool.submit { started.signal(); gate.wait() })
        started.wait()  // the thread is busy; now only the queue counts
        #expect(pool.submit {})
        #expect(pool.submit {})
        #expect(!pool.submit {})
        gate.signal()
        pool.shutdown()
    }

    @Test func jobsSubmittedAfterFinishStillRun() {
        let pool = ThreadPool(name: "test", threads: 2)
        pool.start()
        pool.shutdown()
        let ran = Locked(false)
        pool.submit { ran.withLock { $0 = true } }
        #expect(ran.withLock { $0 })
    }
}
