// CLinux includes <sys/socket.h> for passing descriptors; in a release build the socket names
// (SOCK_STREAM, sockaddr_un) then come to this file through it.
import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// The listening socket, opened or inherited. A unix socket the responder created is removed on close.
struct ListeningSocket: Sendable {
    let fd: Int32
    let createdPath: String?

    /// The path of an inherited unix socket: the service manager keeps it open across a restart, so
    /// the next responder will accept on it (see ``KeptConnectionHandover``).
    var successorPath: String? {
        guard createdPath == nil else { return nil }
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard named, address.sun_family == sa_family_t(AF_UNIX) else { return nil }
        let path = withUnsafeBytes(of: address.sun_path) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return path.isEmpty ? nil : path
    }

    static func open(_ address: ListenAddress, group: String?, backlog: Int32) throws(FastCGIError) -> ListeningSocket {
        switch address {
        case .unix(let path): try openUnix(path: path, group: group, backlog: backlog)
        case .tcp(let host, let port): try openTCP(host: host, port: port, backlog: backlog)
        case .inherited: try inherited()
        }
    }

    func close() {
        _ = Glibc.close(fd)
        if let createdPath { unlink(createdPath) }
    }

    private static func openUnix(path: String, group: String?, backlog: Int32) throws(FastCGIError) -> ListeningSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw .socket("socket path is longer than \(capacity - 1) bytes: \(path)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let gid = try group.map { name throws(FastCGIError) -> gid_t in
            guard let entry = getgrnam(name) else { throw .unknownGroup(name) }
            return entry.pointee.gr_gid
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket()", errno: errno) }
        // A stale socket from a crashed run would make bind fail; only a socket is ever removed.
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
        // The umask makes the socket 0660 from the moment it exists: no window where others may connect.
        let previousMask = umask(0o117)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let bindErrno = errno
        umask(previousMask)
        guard bound == 0 else { Glibc.close(fd); throw .socket("bind \(path)", errno: bindErrno) }
        if let gid, chown(path, uid_t.max, gid) != 0 {
            let code = errno
            Glibc.close(fd); unlink(path)
            throw .socket("chown \(path) to group \(group!)", errno: code)
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd); unlink(path)
            throw .socket("listen \(path)", errno: code)
        }
        return ListeningSocket(fd: fd, createdPath: path)
    }

    private static func openTCP(host: String, port: UInt16, backlog: Int32) throws(FastCGIError) -> ListeningSocket {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let info = result else {
            throw .socket("resolve \(host): \(String(cString: gai_strerror(rc)))", errno: 0)
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket()", errno: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .socket("bind/listen \(host):\(port)", errno: code)
        }
        return ListeningSocket(fd: fd, createdPath: nil)
    }

    /// systemd passes its sockets from fd 3 and names the receiving process in LISTEN_PID;
    /// spawn-fcgi and web servers that spawn their responders pass the listener as fd 0.
    private static func inherited() throws(FastCGIError) -> ListeningSocket {
        let environment = ProcessEnvironment.current
        if let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
           let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1 {
            // Children must not think the sockets are theirs.
            unsetenv("LISTEN_PID"); unsetenv("LISTEN_FDS"); unsetenv("LISTEN_FDNAMES")
            let fd: Int32 = 3
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            return ListeningSocket(fd: fd, createdPath: nil)
        }
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting == 1 {
            return ListeningSocket(fd: 0, createdPath: nil)
        }
        throw .noInheritedSocket
    }
}

/// The process environment, read through libc so that `unsetenv` above is seen.
enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            cursor += 1
        }
        return result
    }
}
