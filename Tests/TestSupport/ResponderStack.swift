import Foundation
import Testing

/// A responder process on a unix socket with a real nginx in front, in a temporary directory.
public final class ResponderStack: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let socket: String
    public private(set) var responder: ChildProcess
    public let nginx: Nginx
    private let launch: () throws -> ChildProcess
    /// The listening sockets handed to the responder, kept open here as a service manager keeps
    /// them: connections wait in their backlog while the responder restarts.
    private let listeners: [Int32]
    public var port: UInt16 { nginx.port }
    /// Where `tradedesk(backend:)` keeps the data: SQLite (`databasePath`) unless said.
    public private(set) var backend = TestBackend.sqlite
    /// The PostgreSQL database of a stack made with `tradedesk(backend: .postgres)`.
    public private(set) var postgres: PostgresTestDatabase?

    /// Starts `executable` with `arguments(socketPath, directory)`; the environment gets the socket's
    /// group so that nginx's workers (www-data when the tests run as root) may connect.
    /// With `inheritSocket`, the test opens the listening socket itself and hands it over as that fd
    /// (0: spawn-fcgi style, 3: systemd style), as a service manager would, and keeps it open until `stop`.
    /// `tls` and `serverName` configure nginx (see `Nginx`).
    public init(executable: String, environment: [String: String] = [:], inheritSocket fd: Int32? = nil,
                tls: Bool = false, serverName: String? = nil,
                arguments: (_ socket: String, _ directory: TemporaryDirectory) -> [String]) throws {
        directory = try TemporaryDirectory()
        socket = directory.file("responder.sock")
        var environment = environment
        if isRoot { environment["FCGI_SOCKET_GROUP"] = "www-data" }
        var passing: [Int32: Int32] = [:]
        if let fd { passing[fd] = try UnixListener.open(path: socket) }
        let arguments = arguments(socket, directory)
        let logPath = directory.file("responder.log")
        launch = { [passing, environment] in
            try ChildProcess(executable, arguments, environment: environment, passing: passing, logPath: logPath)
        }
        listeners = Array(passing.values)
        responder = try launch()
        let socketPath = socket
        guard eventually(timeout: .seconds(20), { FileManager.default.fileExists(atPath: socketPath) }) else {
            throw TestFailure("the responder did not create its socket: \(responder.output)")
        }
        nginx = try Nginx(upstream: socket, directory: directory, tls: tls, serverName: serverName)
    }

    /// `from` is the loopback address the request comes from (127.0.0.1 unless said).
    public func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = [],
                        from source: String? = nil, timeout: Duration = .seconds(10)) throws -> HTTPResult {
        try HTTPClient.request(port: port, method, path, headers: headers, body: body, from: source, timeout: timeout)
    }

    public func json(_ method: String, _ path: String, _ object: Any, headers: [String: String] = [:],
                     from source: String? = nil) throws -> HTTPResult {
        try HTTPClient.json(port: port, method, path, object, headers: headers, from: source)
    }

    /// Opens a connection and sends a request without waiting for the answer.
    public func open(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = [],
                     from source: String? = nil) throws -> HTTPConnection {
        let connection = try HTTPConnection(port: port, from: source)
        try connection.send(method, path, headers: headers, body: body)
        return connection
    }

    /// Starts the responder again (after it stopped or was killed), on the same socket and database.
    public func restartResponder() throws {
        responder.stop()
        responder = try launch()
        let up = eventually(timeout: .seconds(20)) { (try? self.request("GET", "/api/health").status) == 200 }
        guard up else { throw TestFailure("the responder did not come back: \(responder.output)") }
    }

    /// Race and leak reports from a responder built with --sanitize=thread or address.
    public var sanitizerReports: String? {
        let output = responder.output
        return output.contains("ThreadSanitizer") || output.contains("AddressSanitizer") ? output : nil
    }

    /// Stops nginx and the responder, and fails the running test if the responder (built with
    /// --sanitize=thread or address) reported a race or a memory error. A PostgreSQL database
    /// stays until the test process ends: dropping it would cost a checkpoint of the whole cluster.
    public func stop() {
        nginx.stop()
        responder.stop()
        for listener in listeners { close(listener) }
        if let reports = sanitizerReports {
            Issue.record("the responder reported sanitizer findings:\n\(reports)")
        }
        directory.remove()
    }
}

extension ResponderStack {
    /// The real `tradedesk serve` on a unix socket. On SQLite, its database is a file in the stack's
    /// directory (`databasePath`). On PostgreSQL, a fresh database on `PostgresServer.shared`,
    /// migrated first by `tradedesk migrate` as the owner; the responder then connects as its own
    /// role, `desk_responder` (`DATABASE_URL`), as in production (see `PostgresTestDatabase`).
    /// A test that stops or restarts PostgreSQL passes a `postgresServer` of its own.
    public static func tradedesk(backend: TestBackend = .endToEnd, postgresServer: PostgresServer = .shared,
                                 environment: [String: String] = [:], arguments: [String] = [],
                                 tls: Bool = false, serverName: String? = nil) throws -> ResponderStack {
        switch backend {
        case .sqlite:
            return try ResponderStack(executable: Paths.product("tradedesk"), environment: environment,
                                      tls: tls, serverName: serverName) { socket, directory in
                ["serve", "--listen", "unix:\(socket)", "--database", directory.file("tradedesk.sqlite")] + arguments
            }
        case .postgres:
            let database = try PostgresTestDatabase.make(server: postgresServer)
            let stack = try ResponderStack(executable: Paths.product("tradedesk"),
                                           environment: environment.merging(["DATABASE_URL": database.responderURL]) { $1 },
                                           tls: tls, serverName: serverName) { socket, _ in
                ["serve", "--listen", "unix:\(socket)"] + arguments
            }
            stack.backend = .postgres
            stack.postgres = database
            return stack
        }
    }

    public var databasePath: String { directory.file("tradedesk.sqlite") }

    /// Who a process started against the stack's database connects as, on PostgreSQL (on SQLite,
    /// every process opens the same file).
    public enum DatabaseRole: Sendable {
        /// The owner, who migrates: `tradedesk migrate`.
        case owner
        /// The responder's role: `tradedesk serve`, `users`, `tokens`.
        case responder
        /// The bot's role, which reaches the job table only: `stockbot`.
        case bot
    }

    /// What points another `tradedesk` or `stockbot` process at the stack's database: on SQLite the
    /// `--database` flag, on PostgreSQL `DATABASE_URL` with `role`'s URL.
    public func databaseOptions(as role: DatabaseRole) -> (arguments: [String], environment: [String: String]) {
        guard let postgres else { return (["--database", databasePath], [:]) }
        let url = switch role {
        case .owner: postgres.ownerURL
        case .responder: postgres.responderURL
        case .bot: postgres.botURL
        }
        return ([], ["DATABASE_URL": url])
    }

    /// Starts the real `stockbot` on the stack's database (as the bot's role on PostgreSQL), with
    /// `arguments` and `environment` added; its log is `name`.log in the stack's directory.
    public func stockbot(_ arguments: [String] = [], environment: [String: String] = [:], name: String = "bot") throws -> ChildProcess {
        let database = databaseOptions(as: .bot)
        return try ChildProcess(Paths.product("stockbot"), database.arguments + arguments,
                                environment: environment.merging(database.environment) { $1 },
                                logPath: directory.file("\(name).log"))
    }
}

extension ResponderStack {
    /// `tradedesk serve` with its database on a disk of its own: a tmpfs of `kibibytes`, mounted
    /// in a private mount namespace (root only), so that a test can fill it. The socket stays in
    /// the stack's directory, where nginx can reach it.
    public static func tradedeskOnSmallDisk(kibibytes: Int, environment: [String: String] = [:]) throws -> ResponderStack {
        try ResponderStack(executable: "/usr/bin/unshare", environment: environment) { socket, directory in
            let disk = directory.file("disk")
            mkdir(disk, 0o700)
            return ["--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                    "mount -t tmpfs -o size=\(kibibytes)k,mode=0700 tradedesk-test-disk \"$1\" && shift && exec \"$@\"", "sh", disk,
                    Paths.product("tradedesk"), "serve", "--listen", "unix:\(socket)", "--database", disk + "/tradedesk.sqlite"]
        }
    }

    /// `tradedesk serve` with its database on an ext4 file system of its own (a 32 MiB image file on
    /// a loop device, `errors=remount-ro`, mounted in a private mount namespace: root only), so that
    /// a test can make it fail as a disk does (`failExt4Disk`), then repair it while the responder is
    /// stopped. Each start mounts the image again.
    public static func tradedeskOnExt4Disk(environment: [String: String] = [:]) throws -> ResponderStack {
        try ResponderStack(executable: "/usr/bin/unshare", environment: environment) { socket, directory in
            let disk = directory.file("disk"), image = directory.file("ext4.img")
            mkdir(disk, 0o700)
            _ = try? ChildProcess("/bin/sh", ["-c", "truncate -s 32M \"$1\" && mkfs.ext4 -q \"$1\"", "sh", image],
                                  logPath: directory.file("mkfs.log")).wait(timeout: .seconds(30))
            return ["--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                    "mount -o loop,errors=remount-ro \"$1\" \"$2\" && chmod 0700 \"$2\" && shift 2 && exec \"$@\"", "sh", image, disk,
                    Paths.product("tradedesk"), "serve", "--listen", "unix:\(socket)", "--database", disk + "/tradedesk.sqlite"]
        }
    }

    /// Makes the ext4 file system meet an error, as a failing disk would: the kernel aborts its
    /// journal and turns it read-only under the running responder (`trigger_fs_error`).
    public func failExt4Disk() throws {
        let mounts = try String(contentsOfFile: "/proc/\(responder.pid)/mounts", encoding: .utf8)
        guard let device = mounts.split(separator: "\n").map({ $0.split(separator: " ") })
            .first(where: { $0.count > 1 && $0[1] == directory.file("disk") })?[0] else {
            throw TestFailure("the ext4 disk is not mounted: \(mounts)")
        }
        let trigger = "/sys/fs/ext4/\(device.split(separator: "/").last!)/trigger_fs_error"
        guard let handle = FileHandle(forWritingAtPath: trigger) else { throw TestFailure("cannot open \(trigger)") }
        defer { try? handle.close() }
        try handle.write(contentsOf: Data("tradedesk test\n".utf8))
    }

    /// `e2fsck -fy` on the ext4 image (the responder must be stopped); its exit status (1: repaired).
    public func repairExt4Disk() throws -> Int32? {
        try ChildProcess("/usr/sbin/e2fsck", ["-fy", directory.file("ext4.img")], logPath: directory.file("fsck.log"))
            .wait(timeout: .seconds(30))
    }

    /// The private disk's folder as the test sees it, through the responder's mount namespace.
    public var privateDisk: String { "/proc/\(responder.pid)/root" + directory.file("disk") }

    /// `tradedesk serve` with a migrated database in a folder that is bind-mounted read-only in a
    /// private mount namespace (root only), as after a disk came back read-only.
    /// `makeReadOnlyDiskWritable()` remounts it read-write.
    public static func tradedeskOnReadOnlyDisk(environment: [String: String] = [:]) throws -> ResponderStack {
        try ResponderStack(executable: "/usr/bin/unshare", environment: environment) { socket, directory in
            let disk = directory.file("disk")
            mkdir(disk, 0o700)
            let database = disk + "/tradedesk.sqlite"
            _ = try? ChildProcess(Paths.product("tradedesk"), ["migrate", "--database", database], logPath: directory.file("migrate.log"))
                .wait(timeout: .seconds(10))
            return ["--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                    "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && shift && exec \"$@\"", "sh", disk,
                    Paths.product("tradedesk"), "serve", "--listen", "unix:\(socket)", "--database", database]
        }
    }

    public func makeReadOnlyDiskWritable() throws {
        let remount = try ChildProcess("/usr/bin/nsenter", ["--target", "\(responder.pid)", "--mount", "--",
                                                            "mount", "-o", "remount,bind,rw", directory.file("disk")],
                                       logPath: directory.file("remount.log"))
        guard remount.wait(timeout: .seconds(10)) == 0 else { throw TestFailure("remount failed: \(remount.output)") }
    }
}

