import CFastCGI
import CLinux
import ProcessSupport
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// The accept threads. Each waits in its own epoll set on the listening socket (exclusive, so one
/// connection wakes one thread) and on a shared stop eventfd, then calls `FCGX_Accept_r` on the
/// non-blocking listener. Stopping is a write to the eventfd: no signal can interrupt a request that
/// is half read.
///
/// There is no accept mutex (it deadlocks once nginx keeps connections), and every accept gets a
/// fresh heap `FCGX_Request`, because `FCGX_Accept_r` would finish a request still held in the
/// struct it is given.
final class AcceptLoop: Sendable {
    private let core: ServerCore
    private let listenFD: Int32
    private let stopFD: Int32
    private let threads = Locked<[pthread_t]>([])

    private static let listenerToken: UInt64 = 1
    private static let stopToken: UInt64 = 2

    init(core: ServerCore, listenFD: Int32) {
        self.core = core
        self.listenFD = listenFD
        self.stopFD = tradedesk_eventfd()
        precondition(stopFD >= 0, "eventfd failed: \(errno)")
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
    }

    func start(threadCount: Int) {
        let started = (0..<max(1, threadCount)).map { index in
            OwnThread.start(name: "fcgi-accept-\(index)") { [self] in run() }
        }
        threads.withLock { $0 = started }
    }

    /// Wakes every accept thread, waits until each has finished the request it was handling.
    func stop() {
        var one: UInt64 = 1
        _ = write(stopFD, &one, MemoryLayout<UInt64>.size)
        for thread in threads.withLock({ $0 }) { OwnThread.join(thread) }
        close(stopFD)
    }

    private func run() {
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll_create1 failed: \(errno)")
        defer { close(epollFD) }
        _ = tradedesk_epoll_watch_listener(epollFD, listenFD, Self.listenerToken)
        _ = tradedesk_epoll_watch(epollFD, stopFD, Self.stopToken)

        var tokens = [UInt64](repeating: 0, count: 2)
        var request: UnsafeMutablePointer<FCGX_Request>?
        defer { request?.deallocate() }
        while !core.isStopping {
            let count = tokens.withUnsafeMutableBufferPointer {
                tradedesk_epoll_wait(epollFD, $0.baseAddress, 2, -1)
            }
            if count < 0 {
                if errno == EINTR { continue }
                core.logger.error("epoll_wait failed", metadata: ["errno": "\(errno)"])
                return
            }
            if tokens[0..<Int(count)].contains(Self.stopToken) { return }

            let raw = request ?? .allocate(capacity: 1)
            FCGX_InitRequest(raw, listenFD, 0)
            guard FCGX_Accept_r(raw) == 0 else {
                // EAGAIN: another thread took the connection. Anything else (EMFILE) gets a pause.
                request = raw
                if errno != EAGAIN && errno != EWOULDBLOCK {
                    core.logger.warning("accept failed", metadata: ["errno": "\(errno)"])
                    usleep(10_000)
                }
                continue
            }
            request = nil
            serve(RequestPointer(raw: raw))
        }
    }

    private func serve(_ pointer: RequestPointer) {
        core.statistics.acceptedCount.add(1, ordering: .relaxed)
        let (body, tooLarge) = readBody(pointer)
        let exchange = FastCGIExchange(
            request: FastCGIRequest(params: readParams(pointer), body: body),
            pointer: pointer, id: core.makeID(), core: core)
        if tooLarge {
            exchange.respond(.jsonError(413, "request body is larger than \(core.configuration.maxBodyBytes) bytes"))
            return
        }
        core.application.handle(exchange)
        if !exchange.handlerReturned() {
            core.logger.error("the application neither answered nor held a request",
                              metadata: ["uri": "\(exchange.request[param: "REQUEST_URI"] ?? "")"])
            exchange.respond(.jsonError(500, "internal error"))
        }
    }

    private func readParams(_ pointer: RequestPointer) -> [String: String] {
        var params: [String: String] = [:]
        guard var cursor = pointer.raw.pointee.envp else { return params }
        while let entry = cursor.pointee {
            let text = String(decoding: UnsafeRawBufferPointer(start: entry, count: strlen(entry)), as: UTF8.self)
            if let eq = text.firstIndex(of: "=") {
                params[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            cursor += 1
        }
        return params
    }

    /// Reads stdin to its end. Past the cap the rest is read and dropped, so that the web server
    /// is not cut off mid-send, and the request is answered 413.
    private func readBody(_ pointer: RequestPointer) -> (body: [UInt8], tooLarge: Bool) {
        let limit = core.configuration.maxBodyBytes
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var tooLarge = false
        while true {
            let count = chunk.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    FCGX_GetStr($0.baseAddress, Int32($0.count), pointer.raw.pointee.in)
                }
            }
            guard count > 0 else { break }
            if !tooLarge {
                if body.count + Int(count) > limit { tooLarge = true; body = [] } else { body += chunk[0..<Int(count)] }
            }
        }
        return (body, tooLarge)
    }
}
