import Synchronization

/// Live figures, readable from any thread (e.g. by a health route).
public final class FastCGIStatistics: Sendable {
    let heldCount = Atomic<Int>(0)
    let acceptedCount = Atomic<Int>(0)
    let connectionCount = Atomic<Int>(0)
    let keptRequestCount = Atomic<Int>(0)
    let idleKeptCount = Atomic<Int>(0)
    let abandonedCount = Atomic<Int>(0)
    public let startedAt = ContinuousClock.now

    public init() {}

    /// Requests held right now.
    public var held: Int { heldCount.load(ordering: .relaxed) }
    /// Requests accepted since start.
    public var accepted: Int { acceptedCount.load(ordering: .relaxed) }
    /// Connections accepted since start; with kept connections, fewer than the requests.
    public var connections: Int { connectionCount.load(ordering: .relaxed) }
    /// Requests that came on a kept connection, one that had served a request before.
    public var requestsOnKeptConnections: Int { keptRequestCount.load(ordering: .relaxed) }
    /// Kept connections idle right now, waiting for nginx's next request on them.
    public var idleKeptConnections: Int { idleKeptCount.load(ordering: .relaxed) }
    /// Held requests whose client went away before the answer.
    public var abandoned: Int { abandonedCount.load(ordering: .relaxed) }
    public var uptime: Duration { .now - startedAt }
}
