import CFastCGI
import CLinux
import ProcessSupport
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// One thread takes connections off the listening socket as fast as they arrive and queues them for
/// the request threads (``RequestThreads``), which read each request whole and run the application
/// on it, and which also read the next request nginx sends on a kept connection.
///
/// Accepting has a thread of its own because the kernel refuses a connection to a unix socket whose
/// backlog is full (`net.core.somaxconn`, 4096 by default) at once, and nginx answers that client 502.
/// A handler takes a fraction of a millisecond, so when accepting waited for handlers, a burst of a
/// few thousand clients (every long-poll coming back after a restart) overflowed the backlog on a
/// busy machine. Accepted connections wait in the request threads' queue instead, which only the
/// file limit bounds. Stopping lets the request threads finish that queue: each of those requests is
/// answered, with 503 if it would have to be held, since the server is stopping.
///
/// libfcgi reads a connection it did not accept: `FCGX_Accept_r` skips its own accept when the
/// request already has a descriptor, and `keepConnection` keeps the `FCGX_Finish_r` it starts with
/// from closing that descriptor. That is also how the next request on a kept connection is read.
/// Every request gets a fresh heap `FCGX_Request`, because `FCGX_Accept_r` would finish a request
/// still held in the struct it is given.
final class AcceptLoop: Sendable {
    private let core: ServerCore
    private let listenFD: Int32
    private let stopFD: Int32
    private let requestThreads: RequestThreads
    private let acceptor = WorkerThread(name: "fcgi-accept")

    private static let listenerToken: UInt64 = 1
    private static let stopToken: UInt64 = 2

    init(core: ServerCore, listenFD: Int32, requestThreads: Int) {
        self.core = core
        self.listenFD = listenFD
        self.stopFD = tradedesk_eventfd()
        precondition(stopFD >= 0, "eventfd failed: \(errno)")
        self.requestThreads = RequestThreads(name: "fcgi-request", count: requestThreads, kept: core.kept)
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
    }

    func start() {
        requestThreads.start { [self] fd, kept in serve(fd, kept: kept) }
        acceptor.start { [self] in
            run()
            return .finished
        }
    }

    /// Stops accepting, and reading the idle kept connections, then waits until every connection
    /// already accepted has been read and handled.
    func stop() {
        var one: UInt64 = 1
        _ = write(stopFD, &one, MemoryLayout<UInt64>.size)
        acceptor.join()
        close(stopFD)
        requestThreads.stop()
    }

    private func run() {
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll_create1 failed: \(errno)")
        defer { close(epollFD) }
        _ = tradedesk_epoll_watch(epollFD, listenFD, Self.listenerToken)
        _ = tradedesk_epoll_watch(epollFD, stopFD, Self.stopToken)

        var tokens = [UInt64](repeating: 0, count: 2)
        var outOfDescriptors = false
        while true {
            let count = tokens.withUnsafeMutableBufferPointer {
                tradedesk_epoll_wait(epollFD, $0.baseAddress, 2, -1)
            }
            if count < 0 {
                if errno == EINTR { continue }
                core.logger.error("epoll_wait failed", metadata: ["errno": "\(errno)"])
                return
            }
            if tokens[0..<Int(count)].contains(Self.stopToken) { return }
            outOfDescriptors = acceptWaiting(alreadyWarned: outOfDescriptors)
            if outOfDescriptors, pauseUnlessStopped() { return }
        }
    }

    /// The pause after EMFILE: the listener stays readable while connections wait in the backlog, so
    /// epoll would report it again at once. No event says that a descriptor was freed, so this is a
    /// timed wait, 10 ms, that the stop eventfd still ends at once. Returns whether it did.
    private func pauseUnlessStopped() -> Bool {
        var stop = pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)
        return poll(&stop, 1, 10) > 0
    }

    /// Accepts until the backlog is empty. Returns whether accepting stopped for lack of descriptors
    /// (EMFILE): the connections then stay in the backlog, and the caller pauses before trying again.
    private func acceptWaiting(alreadyWarned: Bool) -> Bool {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                core.statistics.connectionCount.add(1, ordering: .relaxed)
                requestThreads.submit(fd)
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK:
                if alreadyWarned { core.logger.notice("accepting again") }
                return false
            case EINTR, ECONNABORTED:
                continue
            default:
                if !alreadyWarned {
                    core.logger.warning("accept failed; connections wait in the backlog", metadata: ["errno": "\(errno)"])
                }
                return true
            }
        }
    }

    /// Reads the request on `fd` (`kept`: a connection that served one before) and hands it to the
    /// application.
    private func serve(_ fd: Int32, kept: Bool) {
        let raw = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        // No listening socket: should the connection fail before its parameters, libfcgi closes it
        // and returns an error instead of accepting another one itself.
        if !kept, takeHandover(fd) {
            raw.deallocate()
            return
        }
        FCGX_InitRequest(raw, -1, 0)
        raw.pointee.ipcFd = fd
        raw.pointee.keepConnection = 1
        guard FCGX_Accept_r(raw) == 0 else {
            raw.deallocate()
            return
        }
        core.statistics.acceptedCount.add(1, ordering: .relaxed)
        if kept { core.statistics.keptRequestCount.add(1, ordering: .relaxed) }
        let (body, tooLarge) = readBody(raw)
        let request = FastCGIRequest(params: readParams(raw), body: body)
        // libfcgi has replaced our keepConnection with the web server's FCGI_KEEP_CONN flag; a
        // connection whose input failed is not kept.
        let connection = FastCGIConnection(fd: raw.pointee.ipcFd, requestID: UInt16(truncatingIfNeeded: raw.pointee.requestId),
                                           keepConnection: raw.pointee.keepConnection != 0 && FCGX_GetError(raw.pointee.in) == 0,
                                           wasIdleKept: kept)
        // Everything is read: libfcgi's buffers go now, the descriptor stays open.
        FCGX_Free(raw, 0)
        raw.deallocate()
        let exchange = FastCGIExchange(request: request, connection: connection, id: core.makeID(),
                                       onKeptConnection: kept, core: core)
        if tooLarge {
            exchange.respond(core.application.answer(for: .bodyTooLarge(limit: core.configuration.maxBodyBytes)))
            return
        }
        core.application.handle(exchange)
        if !exchange.handlerReturned() {
            core.logger.error("the application neither answered nor held a request",
                              metadata: ["uri": "\(exchange.request[param: "REQUEST_URI"] ?? "")"])
            exchange.respond(core.application.answer(for: .unanswered))
        }
    }

    /// Whether `fd`, a new connection, is the previous responder handing its kept connections over
    /// (``KeptConnectionHandover``); if so, they are taken and `fd` closed. nginx sends first, so the
    /// peek does not wait on it.
    private func takeHandover(_ fd: Int32) -> Bool {
        var first: UInt8 = 0
        guard recv(fd, &first, 1, Int32(MSG_PEEK)) == 1, KeptConnectionHandover.isHandover(firstByte: first) else {
            return false
        }
        KeptConnectionHandover.receive(on: fd, logger: core.logger) { core.kept.park($0, wasIdle: false) }
        return true
    }

    private func readParams(_ raw: UnsafeMutablePointer<FCGX_Request>) -> [String: String] {
        var params: [String: String] = Dictionary(minimumCapacity: 32)
        guard var cursor = raw.pointee.envp else { return params }
        while let entry = cursor.pointee {
            // Bytes, not Characters: finding "=" in a String walks grapheme clusters.
            let bytes = UnsafeRawBufferPointer(start: entry, count: strlen(entry))
            if let eq = bytes.firstIndex(of: UInt8(ascii: "=")) {
                params[String(decoding: bytes[..<eq], as: UTF8.self)] = String(decoding: bytes[(eq + 1)...], as: UTF8.self)
            }
            cursor += 1
        }
        return params
    }

    /// Reads stdin to its end. Past the cap the rest is read and dropped, so that the web server
    /// is not cut off mid-send, and the request is answered 413.
    private func readBody(_ raw: UnsafeMutablePointer<FCGX_Request>) -> (body: [UInt8], tooLarge: Bool) {
        let limit = core.configuration.maxBodyBytes
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var tooLarge = false
        while true {
            let count = chunk.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    FCGX_GetStr($0.baseAddress, Int32($0.count), raw.pointee.in)
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
