import CFastCGI
import ProcessSupport
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state every exchange shares with the server: counters, the watcher, the writers. The server
/// starts and stops the watcher and the writers.
final class ServerCore: Sendable {
    let configuration: FastCGIConfiguration
    let application: any FastCGIApplication
    let statistics: FastCGIStatistics
    let logger: Logger
    let registry = HeldRegistry()
    let watcher = DisconnectWatcher()
    let kept: KeptConnections
    let writers: ThreadPool
    private let stopping = Atomic<Bool>(false)
    private let nextID = Atomic<UInt64>(1)

    init(configuration: FastCGIConfiguration, application: any FastCGIApplication,
         statistics: FastCGIStatistics, logger: Logger) {
        self.configuration = configuration
        self.application = application
        self.statistics = statistics
        self.logger = logger
        self.kept = KeptConnections(statistics: statistics)
        self.writers = ThreadPool(name: "fcgi-writer", threads: configuration.writerThreads)
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }
    func beginStopping() { stopping.store(true, ordering: .releasing) }

    func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    func reserveHeldPlace() throws(HoldRefusal) {
        let limit = configuration.maxHeldRequests
        var current = statistics.heldCount.load(ordering: .relaxed)
        while true {
            guard current < limit else { throw .limitReached(limit: limit) }
            let (exchanged, original) = statistics.heldCount.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    func releaseHeldPlace() {
        statistics.heldCount.subtract(1, ordering: .relaxed)
    }

    func forgetHeld(_ exchange: FastCGIExchange) {
        registry.remove(exchange.id)
        releaseHeldPlace()
        exchange.released()
    }

    /// Writes the answer, finishes the request and frees it. Runs on one of the core's threads.
    func write(_ response: FastCGIResponse, to pointer: RequestPointer) {
        let bytes = response.serialized(adding: configuration.headersOnEveryAnswer)
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                _ = FCGX_PutStr($0.baseAddress, Int32($0.count), pointer.raw.pointee.out)
            }
        }
        // libfcgi's own close shuts down the sending side and then waits, up to 2 s in select(), for
        // nginx to close first, so that unread input cannot turn into a reset that loses the answer.
        // Stdin has been read to its end before any answer, so there is no unread input: finishing
        // as if the connection were kept and closing it at once frees this thread a round-trip
        // sooner. (With two writer threads, that round-trip capped held answers near 3,000 a second.)
        pointer.raw.pointee.keepConnection = 1
        FCGX_Finish_r(pointer.raw)
        // After a write error libfcgi has closed it already.
        let fd = pointer.raw.pointee.ipcFd
        if fd >= 0 {
            if pointer.keepConnection { kept.park(fd) } else { close(fd) }
        }
        pointer.raw.deallocate()
    }

    /// Frees a request whose connection is gone, without writing to it.
    func abandon(_ pointer: RequestPointer) {
        statistics.abandonedCount.add(1, ordering: .relaxed)
        FCGX_Free(pointer.raw, 1)
        pointer.raw.deallocate()
    }

    func completed(_ exchange: FastCGIExchange, status: Int?) {
        application.completed(exchange, status: status)
    }

    /// The client-gone report for the socket behind `token`.
    func socketEvent(token: UInt64) {
        registry.lookup(token)?.clientGone()
    }
}
