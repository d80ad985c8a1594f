import Foundation
import Locking
import ProcessSupport
import Testing

/// The threads of this process with `name` (their `comm`, at most 15 bytes).
func threads(named name: String) -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.filter { task in
        let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
        return comm?.trimmingCharacters(in: .newlines) == name
    }.count
}

struct WorkerThreadTests {
    @Test func constructingStartsNothingAndJoinEndsTheThread() {
        let worker = WorkerThread(name: "wt-join")
        #expect(threads(named: "wt-join") == 0)
        worker.join()  // never started: returns at once
        let calls = Locked(0)
        worker.start { calls.withLock { $0 += 1 }; return .whenWoken }
        #expect(eventually { calls.withLock { $0 } == 1 })
        #expect(threads(named: "wt-join") == 1)
        worker.stopAndJoin()
        #expect(threads(named: "wt-join") == 0)
        worker.join()  // twice: nothing more to wait for
    }

    @Test func theBodyRunsAgainWhenWokenAndNotBefore() {
        let worker = WorkerThread(name: "wt-wake")
        let calls = Locked(0)
        worker.start { calls.withLock { $0 += 1 }; return .whenWoken }
        #expect(eventually { calls.withLock { $0 } == 1 })
        usleep(50_000)
        #expect(calls.withLock { $0 } == 1, "asleep until woken")
        worker.wake()
        #expect(eventually { calls.withLock { $0 } == 2 })
        worker.stopAndJoin()
    }

    @Test func aWakeWhileTheBodyRunsIsNotLost() {
        let worker = WorkerThread(name: "wt-lost")
        let calls = Locked(0)
        worker.start { [worker] in
            let call = calls.withLock { $0 += 1; return $0 }
            // Woken from inside its own call: it must run once more.
            if call == 1 { worker.wake() }
            return .whenWoken
        }
        #expect(eventually { calls.withLock { $0 } == 2 })
        worker.stopAndJoin()
    }

    @Test func theBodyRunsAgainAtTheDeadlineItReturned() {
        let worker = WorkerThread(name: "wt-deadline")
        let times = Locked<[ContinuousClock.Instant]>([])
        worker.start {
            let count = times.withLock { $0.append(.now); return $0.count }
            return count < 3 ? .after(.milliseconds(100)) : .whenWoken
        }
        #expect(eventually { times.withLock { $0.count } == 3 })
        let seen = times.withLock { $0 }
        #expect(seen[1] - seen[0] >= .milliseconds(100))
        #expect(seen[2] - seen[1] >= .milliseconds(100))
        worker.stopAndJoin()
    }

    @Test func finishedEndsTheThreadWithoutAStop() {
        let worker = WorkerThread(name: "wt-finished")
        let calls = Locked(0)
        worker.start { calls.withLock { $0 += 1 }; return .finished }
        worker.join()
        #expect(calls.withLock { $0 } == 1)
        #expect(threads(named: "wt-finished") == 0)
    }

    @Test func stopEndsALongSleepAtOnce() {
        let worker = WorkerThread(name: "wt-stop")
        worker.start { .after(.seconds(60)) }
        usleep(20_000)
        let started = ContinuousClock.now
        worker.stopAndJoin()
        #expect(ContinuousClock.now - started < .seconds(1))
    }
}

struct ShutdownSignalThreadTests {
    @Test func itCanBeStoppedWhenNoSignalCame() {
        let watcher = ShutdownSignalThread()
        let heard = Locked<Int32?>(nil)
        watcher.start { signal in heard.withLock { $0 = signal } }
        #expect(eventually { threads(named: "signal-wait") == 1 })
        watcher.stopAndJoin()
        #expect(threads(named: "signal-wait") == 0)
        #expect(heard.withLock { $0 } == nil)
    }
}

/// Polls `condition` every 5 ms, up to `timeout`.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
