import Locking

/// `withTimeout` gave up: the operation did not finish within `limit`.
public struct TimeoutError: Error, Sendable, Equatable, CustomStringConvertible {
    public let limit: Duration
    public init(limit: Duration) { self.limit = limit }
    public var description: String { "no answer within \(limit.seconds) s" }
}

/// Runs `operation`, or throws `TimeoutError` when `limit` passes first, even if the operation
/// ignores cancellation: the caller gets its answer on time, and the operation is cancelled and
/// left to end on its own.
///
/// ```swift
/// let outcomes = try await withTimeout(.seconds(10)) { try await server.execute(batch) }
/// ```
public func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let resumed = Locked(false)
        let claim: @Sendable () -> Bool = { resumed.withLock { done in defer { done = true }; return !done } }
        let timer = Locked<Task<Void, Never>?>(nil)
        let work = Task {
            let result = await Result(catching: { try await operation() })
            if claim() {
                continuation.resume(with: result)
                // Hundreds of calls a second would otherwise each leave a timer asleep for the whole limit.
                timer.withLock { $0?.cancel() }
            }
        }
        timer.withLock { timer in
            timer = Task {
                guard (try? await Task.sleep(for: limit)) != nil, claim() else { return }
                continuation.resume(throwing: TimeoutError(limit: limit))
                work.cancel()
            }
            // The work may have finished before its timer existed.
            if resumed.withLock({ $0 }) { timer?.cancel() }
        }
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
