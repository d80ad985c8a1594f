import Foundation

/// A listening unix socket made by the test, as systemd's socket unit would make it.
public enum UnixListener {
    /// Returns the fd; mode 0660, group www-data when the tests run as root.
    public static func open(path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let bound = withUnixAddress(path) { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 128) == 0 else { throw TestFailure("cannot listen on \(path): \(errno)") }
        chmod(path, 0o660)
        if isRoot, let group = getgrnam("www-data") { chown(path, uid_t.max, group.pointee.gr_gid) }
        return fd
    }
}

/// Calls `body` with the `sockaddr_un` of `path`, for `bind` or `connect`.
public func withUnixAddress<Result>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: path.utf8)
        raw[path.utf8.count] = 0
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}
