#if canImport(Glibc)
import Glibc
#endif

/// The connection a request came on, once libfcgi has read the request: its descriptor, the
/// request's id, and whether the web server asked to keep the connection (FCGI_KEEP_CONN).
///
/// libfcgi reads the request (``AcceptLoop``), and then its `FCGX_Request`, with an 8 KiB input
/// and an 8 KiB output buffer, is freed at once, on the thread that read it; the answer is written
/// here as FastCGI records. So a held request, which may wait minutes, keeps only this and what
/// the application made of it, and no `FCGX_Request` outlives the thread that owns it.
struct FastCGIConnection: Sendable {
    let fd: Int32
    let requestID: UInt16
    let keepConnection: Bool
    /// Whether it waited among the idle kept connections before this request (so that its epoll
    /// registration there is re-armed rather than added).
    let wasIdleKept: Bool

    /// The most content one record carries.
    private static let maxContent = 65_535

    private enum RecordType: UInt8 {
        case endRequest = 3
        case stdout = 6
    }

    /// Writes `bytes` as the request's stdout, then its end (status 0, FCGI_REQUEST_COMPLETE), in
    /// as few writes as the socket takes. Returns whether everything was written.
    func writeAnswer(_ bytes: [UInt8]) -> Bool {
        var records: [UInt8] = []
        records.reserveCapacity(bytes.count + 8 * (bytes.count / Self.maxContent + 3) + 8)
        var start = 0
        while start < bytes.count {
            let end = min(start + Self.maxContent, bytes.count)
            appendHeader(.stdout, contentLength: end - start, to: &records)
            records += bytes[start..<end]
            start = end
        }
        appendHeader(.stdout, contentLength: 0, to: &records)
        appendHeader(.endRequest, contentLength: 8, to: &records)
        records += [0, 0, 0, 0, 0, 0, 0, 0]
        return writeAll(records)
    }

    private func appendHeader(_ type: RecordType, contentLength: Int, to records: inout [UInt8]) {
        records += [1, type.rawValue, UInt8(requestID >> 8), UInt8(requestID & 0xFF),
                    UInt8(contentLength >> 8), UInt8(contentLength & 0xFF), 0, 0]
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
