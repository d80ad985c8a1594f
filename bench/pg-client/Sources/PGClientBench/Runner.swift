import Foundation
import Synchronization

/// Runs one case: `options.threads` Foundation threads, each with the connection `connect` makes
/// for it, looping over one query until the window closes.
///
/// Plain threads, not tasks, because the responder's request threads are plain threads: a client
/// library has to be usable from one of those as it stands. Every thread connects and prepares
/// before any is timed; then all start together, run `warmup` seconds uncounted (the server's plan
/// and buffer caches, the allocator) and `seconds` counted. Each query is timed from the thread's
/// side, so its latency includes whatever hops the library makes between threads.
public enum Runner {
    public static func run(_ options: Options, client: String,
                           connect: @escaping @Sendable (_ thread: Int) throws -> any SessionQueries) throws -> CaseResult {
        let shared = Shared()
        for index in 0..<options.threads {
            shared.finished.enter()
            let thread = Thread {
                let outcome = work(index: index, options: options, shared: shared, connect: connect)
                shared.outcomes.withLock { $0.append(outcome) }
                shared.finished.leave()
            }
            thread.name = "bench-\(index)"
            thread.start()
        }
        for _ in 0..<options.threads { shared.ready.wait() }
        let now = DispatchTime.now().uptimeNanoseconds
        let start = now + UInt64(options.warmup * 1e9)
        shared.window.withLock { $0 = (start, start + UInt64(options.seconds * 1e9)) }
        for _ in 0..<options.threads { shared.go.signal() }
        shared.finished.wait()

        let outcomes = shared.outcomes.withLock { $0 }
        if let failure = outcomes.lazy.compactMap(\.failure).first { throw BenchError("\(client): \(failure)") }
        var latencies = outcomes.flatMap(\.latencies)
        latencies.sort()
        return CaseResult(client: client, query: options.query, threads: options.threads, seconds: options.seconds,
                          sortedLatencies: latencies, peakRSSKiB: ProcessStatus.peakRSSKiB())
    }

    private static func work(index: Int, options: Options, shared: Shared,
                             connect: @Sendable (Int) throws -> any SessionQueries) -> ThreadOutcome {
        var outcome = ThreadOutcome()
        let queries: (any SessionQueries)?
        do {
            queries = try connect(index)
        } catch {
            outcome.failure = "connecting: \(String(reflecting: error))"
            queries = nil
        }
        shared.ready.signal()
        shared.go.wait()
        guard let queries else { return outcome }

        let (start, end) = shared.window.withLock { $0 }
        var random = SplitMix64(seed: UInt64(index + 1))
        outcome.latencies.reserveCapacity(1 << 16)
        while true {
            let begin = DispatchTime.now().uptimeNanoseconds
            if begin >= end { break }
            do {
                switch options.query {
                case .lookup:
                    let id = 1 + Int64(random.next() % UInt64(options.sessions))
                    let row = try queries.lookup(sessionID: id)
                    if row.username.isEmpty || row.secretHash.count != 32 { throw BenchError("session \(id): unexpected row \(row)") }
                case .insert:
                    let user = 1 + Int64(random.next() % UInt64(options.users))
                    let hash = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) }
                    let id = try queries.insertSession(userID: user, secretHash: hash, now: Date())
                    if id <= options.sessions { throw BenchError("insert returned id \(id), an old one") }
                }
            } catch {
                // One failure makes the case worthless: stop, and let run() report it.
                outcome.failure = "\(options.query): \(String(reflecting: error))"
                break
            }
            if begin >= start { outcome.latencies.append(DispatchTime.now().uptimeNanoseconds - begin) }
        }
        return outcome
    }
}

/// What the threads share with the one that started them.
private final class Shared: Sendable {
    let ready = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    let finished = DispatchGroup()
    /// The counted window, in `DispatchTime` nanoseconds; written before `go` is signalled.
    let window = Mutex<(start: UInt64, end: UInt64)>((0, 0))
    let outcomes = Mutex<[ThreadOutcome]>([])
}

private struct ThreadOutcome: Sendable {
    var latencies: [UInt64] = []
    var failure: String?
}

/// A small, fast, seeded generator: the same ids in every run, and no lock on the system one.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
