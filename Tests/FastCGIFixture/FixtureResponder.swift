import Dispatch
import FastCGI
import Foundation
import ProcessSupport
import HTTP
import Logging
import Locking
import Synchronization

/// A responder for the FastCGI core's tests. Usage: fastcgi-fixture SOCKET [MAX_HELD] [MAX_BODY_BYTES]
/// (socket group from FCGI_SOCKET_GROUP, listen backlog from FCGI_BACKLOG)
///
/// GET  /api/health               200 {"held": n}: the bench's ceiling, the core answering next to nothing
/// GET  /api/connections          200 {"connections": n, "kept_requests": n, "idle_kept": n}
/// GET  /api/hold?ms=N&via=task   held, answered after N ms from a Swift task (or via=dispatch: a
///                                Dispatch queue), so from a thread that is not the core's
/// GET  /api/park[?handle_ms=N]   held until /api/release, client disconnect or shutdown; the
///                                handler first sleeps N ms, as a slow one would
/// POST /api/release              answers every parked request 200, from a request thread
/// GET  /api/gone                 {"gone": n}: parked requests whose client went away
/// POST /api/echo                 echoes {"text": ...} from a JSON body
@main
struct FixtureResponder {
    static func main() throws {
        ShutdownSignals.block()
        let arguments = CommandLine.arguments
        _ = LogSetup.bootstrap(label: "fastcgi-fixture", level: .info)
        var configuration = FastCGIConfiguration(listen: .unix(path: arguments[1]))
        let environment = ProcessInfo.processInfo.environment
        configuration.socketGroup = environment["FCGI_SOCKET_GROUP"]
        if let backlog = environment["FCGI_BACKLOG"].flatMap(Int32.init) { configuration.backlog = backlog }
        if arguments.count > 2, let maxHeld = Int(arguments[2]) { configuration.maxHeldRequests = maxHeld }
        if arguments.count > 3, let maxBody = Int(arguments[3]) { configuration.maxBodyBytes = maxBody }
        configuration.drainTimeout = .seconds(2)

        let state = FixtureState()
        let statistics = FastCGIStatistics()
        var router = Router()
        router.get("/api/health") { _ in .json(["held": statistics.held]) }
        router.get("/api/connections") { _ in
            .json(["connections": statistics.connections, "kept_requests": statistics.requestsOnKeptConnections,
                   "idle_kept": statistics.idleKeptConnections])
        }
        router.get("/api/hold") { request in
            let delay = Int(request.query["ms"] ?? "100") ?? 100
            let pending = try request.hold()
            let answer: @Sendable () -> Void = { pending.respond(.json(["answered_after_ms": delay])) }
            if request.query["via"] == "dispatch" {
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay), execute: answer)
            } else {
                Task.detached { try? await Task.sleep(for: .milliseconds(delay)); answer() }
            }
            return nil
        }
        router.get("/api/park") { request in
            if let milliseconds = request.query["handle_ms"].flatMap(UInt32.init) { usleep(milliseconds * 1000) }
            let id = state.nextID()
            let pending = try request.hold { state.gone(id) }
            state.park(id, pending)
            return nil
        }
        router.post("/api/release") { _ in
            let released = state.releaseAll().filter { $0.respond(.json(["released": true])) }.count
            return .json(["released": released])
        }
        router.get("/api/gone") { _ in .json(["gone": state.goneCount]) }
        router.post("/api/echo") { request in
            struct Echo: Codable { let text: String }
            return .json(try request.decodeJSON(Echo.self))
        }

        let logger = Logger(label: "fastcgi-fixture")
        let server = FastCGIServer(configuration: configuration,
                                   application: HTTPApplication(router: router, logger: logger),
                                   statistics: statistics, logger: logger)
        try server.run()
    }
}

final class FixtureState: Sendable {
    private let parked = Locked<[Int: PendingResponse]>([:])
    private let counter = Atomic<Int>(0)
    private let goneTotal = Atomic<Int>(0)

    func nextID() -> Int { counter.add(1, ordering: .relaxed).newValue }
    func park(_ id: Int, _ pending: PendingResponse) { parked.withLock { $0[id] = pending } }
    func releaseAll() -> [PendingResponse] { parked.withLock { all in defer { all = [:] }; return Array(all.values) } }
    func gone(_ id: Int) {
        if parked.withLock({ $0.removeValue(forKey: id) }) != nil { goneTotal.add(1, ordering: .relaxed) }
    }
    var goneCount: Int { goneTotal.load(ordering: .relaxed) }
}
