import FastCGI
import HTTP
import Locking

/// One request sent by a `TestClient`: the same contract as the FastCGI core's exchange (answered
/// once, now or held and later, from any thread; a client that leaves), kept in memory.
public final class TestExchange: HTTPExchange {
    private struct State {
        var held = false
        var response: HTTPResponse?
        var gone = false
        var onClientGone: (@Sendable () -> Void)?
        var onRelease: (@Sendable () -> Void)?
        var waiting: [UInt64: CheckedContinuation<HTTPResponse?, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Locked(State())

    init() {}

    public func hold(onClientGone: @escaping @Sendable () -> Void, onRelease: (@Sendable () -> Void)?) throws(HoldRefusal) {
        state.withLock { state in
            precondition(!state.held && state.response == nil, "hold must be called once, before the answer")
            state.held = true
            state.onClientGone = onClientGone
            state.onRelease = onRelease
        }
    }

    @discardableResult
    public func respond(_ response: HTTPResponse) -> Bool {
        let taken = state.withLock { state -> (release: (@Sendable () -> Void)?, waiting: [CheckedContinuation<HTTPResponse?, Never>])? in
            guard state.response == nil, !state.gone else { return nil }
            state.response = response
            defer { state.onRelease = nil; state.onClientGone = nil; state.waiting = [:] }
            return (state.onRelease, Array(state.waiting.values))
        }
        guard let taken else { return false }
        taken.release?()
        for continuation in taken.waiting { continuation.resume(returning: response) }
        return true
    }

    public var isClosed: Bool { state.withLock { $0.response != nil || $0.gone } }

    /// Whether the handler held the request and it is still unanswered.
    public var isHeld: Bool { state.withLock { $0.held && $0.response == nil && !$0.gone } }

    /// The client leaves before the answer, as when nginx closes a held request's connection.
    public func clientGone() {
        let taken = state.withLock { state -> (gone: (@Sendable () -> Void)?, release: (@Sendable () -> Void)?, waiting: [CheckedContinuation<HTTPResponse?, Never>])? in
            guard state.held, state.response == nil, !state.gone else { return nil }
            state.gone = true
            defer { state.onRelease = nil; state.onClientGone = nil; state.waiting = [:] }
            return (state.onClientGone, state.onRelease, Array(state.waiting.values))
        }
        guard let taken else { return }
        taken.release?()
        taken.gone?()
        for continuation in taken.waiting { continuation.resume(returning: nil) }
    }

    /// The answer, waiting for it up to `timeout` if the request is held.
    public func response(timeout: Duration = .seconds(10)) async throws -> TestResponse {
        let response = try await withThrowingTaskGroup(of: HTTPResponse?.self) { group in
            group.addTask { await self.answer() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TestExchangeError.noAnswer(within: timeout)
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let response else { throw TestExchangeError.clientGone }
        return TestResponse(response)
    }

    /// The answer once there is one; `nil` if the client left first or the wait was cancelled.
    private func answer() async -> HTTPResponse? {
        let id = state.withLock { state in defer { state.nextWaiter += 1 }; return state.nextWaiter }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now: HTTPResponse?? = state.withLock { state in
                    if let response = state.response { return .some(response) }
                    if state.gone || Task.isCancelled { return .some(nil) }
                    state.waiting[id] = continuation
                    return .none
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}

public enum TestExchangeError: Error, CustomStringConvertible {
    case noAnswer(within: Duration)
    case clientGone
    case notAJSONObject(String)

    public var description: String {
        switch self {
        case .noAnswer(let timeout): "no answer within \(timeout)"
        case .clientGone: "the client left before the answer"
        case .notAJSONObject(let body): "the body is not a JSON object: \(body)"
        }
    }
}
