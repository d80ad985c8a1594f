import Foundation
import Locking
import ProcessSupport
import Testing

struct WithTimeoutTests {
    struct Boom: Error, Equatable {}

    @Test func theOperationsResultComesBackWhenInTime() async throws {
        let value = try await withTimeout(.seconds(5)) { 42 }
        #expect(value == 42)
    }

    @Test func theOperationsErrorComesBack() async {
        await #expect(throws: Boom.self) {
            try await withTimeout(.seconds(5)) { () async throws -> Int in throw Boom() }
        }
    }

    @Test func itThrowsAtTheLimitEvenIfTheOperationIgnoresCancellation() async {
        let started = ContinuousClock.now
        let late = WorkerThread(name: "late-answer")
        await #expect(throws: TimeoutError(limit: .milliseconds(100))) {
            try await withTimeout(.milliseconds(100)) { () async -> Int in
                // Resumed by a thread of its own 2 s later, cancelled or not.
                await withCheckedContinuation { continuation in
                    late.start {
                        usleep(2_000_000)
                        continuation.resume(returning: 1)
                        return .finished
                    }
                }
            }
        }
        #expect(ContinuousClock.now - started < .seconds(1))
        late.join()
    }
}
