import CLinux
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Hands the kept connections of a responder that stops to the one that starts next on the same
/// listening socket, so that a restart closes none of them.
///
/// Closing a kept connection is never safe while nginx may send on it: nginx takes a connection
/// from its pool without asking the responder, and a POST sent on one that the responder has
/// just closed fails with a 502 (nginx retries only what it may send twice). Under socket
/// activation the service manager keeps the listening socket across a restart, so there is a
/// successor: the stopping responder connects to that socket, sends a preamble no FastCGI record
/// starts with, and then the descriptors themselves (SCM_RIGHTS). The connection waits in the
/// backlog with them until the next responder accepts it, and requests nginx sends on the kept
/// connections meanwhile wait in their sockets, as new connections wait in the backlog.
///
/// The next responder takes a connection whose first byte is the preamble's as a handover, only
/// from a process of its own user, and puts the descriptors among its idle kept connections.
enum KeptConnectionHandover {
    /// A FastCGI record starts with its version, 1.
    static let preamble: [UInt8] = Array("\u{FF}tradedesk-kept-connections-1\n".utf8)

    static func isHandover(firstByte: UInt8) -> Bool { firstByte == preamble[0] }

    /// Sends `descriptors` to the socket at `path` and closes them here. Returns how many were
    /// sent; on a failure the rest are closed.
    @discardableResult
    static func send(_ descriptors: [Int32], to path: String, logger: Logger) -> Int {
        guard !descriptors.isEmpty else { return 0 }
        defer { descriptors.forEach { _ = close($0) } }
        let sock = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard sock >= 0 else { return 0 }
        defer { close(sock) }
        // The successor may take a moment to start; a full backlog must not keep this one from exiting.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connectUnix(sock, path), sendAll(sock, preamble) else {
            logger.warning("could not hand the kept connections over; closing them", metadata: ["errno": "\(errno)"])
            return 0
        }
        var sent = 0
        while sent < descriptors.count {
            let batch = Array(descriptors[sent..<min(sent + Int(TRADEDESK_FDS_PER_MESSAGE), descriptors.count)])
            guard batch.withUnsafeBufferPointer({ tradedesk_send_fds(sock, $0.baseAddress, Int32($0.count)) }) == 1 else {
                logger.warning("handing kept connections over failed; closing the rest", metadata: ["errno": "\(errno)"])
                break
            }
            sent += batch.count
        }
        logger.notice("handed kept connections to the next responder", metadata: ["count": "\(sent)"])
        return sent
    }

    /// Reads a handover from `sock` (whose first byte was the preamble's) and gives each descriptor
    /// to `take`. Closes `sock`.
    static func receive(on sock: Int32, logger: Logger, take: (Int32) -> Void) {
        defer { close(sock) }
        guard tradedesk_peer_uid(sock) == Int(geteuid()) else {
            logger.warning("refused a kept-connection handover from another user")
            return
        }
        var header = [UInt8](repeating: 0, count: preamble.count)
        let read = header.withUnsafeMutableBytes { recv(sock, $0.baseAddress, $0.count, Int32(MSG_WAITALL)) }
        guard read == preamble.count, header == preamble else {
            logger.warning("refused a connection that started like a kept-connection handover")
            return
        }
        var descriptors = [Int32](repeating: -1, count: Int(TRADEDESK_FDS_PER_MESSAGE))
        var total = 0
        while true {
            var received: Int32 = 0
            let bytes = descriptors.withUnsafeMutableBufferPointer {
                tradedesk_receive_fds(sock, $0.baseAddress, Int32($0.count), &received)
            }
            for fd in descriptors[0..<Int(received)] { take(fd) }
            total += Int(received)
            if bytes <= 0 { break }
        }
        logger.notice("took over kept connections from the previous responder", metadata: ["count": "\(total)"])
    }

    private static func connectUnix(_ sock: Int32, _ path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(sock, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }

    private static func sendAll(_ sock: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(sock, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }
}
