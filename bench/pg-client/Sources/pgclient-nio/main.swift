import NIOPosix
import PGClientBench

// One case of the bench on postgres-nio; run.sh runs one process per case (see Options for the
// flags). The connections share NIO's singleton group (one event loop per core), as a responder
// would share one group among its request threads.
benchMain(client: { "postgres-nio (\($0.api))" }) { options in
    guard let api = NIOSessionQueries.API(rawValue: options.api) else {
        return { _ in throw BenchError("--api: prepared, async or query, not \(options.api)") }
    }
    return { thread in try NIOSessionQueries(group: MultiThreadedEventLoopGroup.singleton, options: options, id: thread, api: api) }
}
