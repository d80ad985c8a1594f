import Foundation

/// A real PostgreSQL cluster that the tests start themselves, with Debian's command-line tools
/// (initdb, pg_ctl, psql): no driver, so that TestSupport needs no PostgreSQL library.
///
/// The cluster lives in a fresh directory under /tmp and listens on a unix socket in that directory
/// only (`listen_addresses = ''`), never on TCP. initdb and postgres refuse to run as root, so when
/// the tests run as root (as CI does) the cluster runs as the `postgres` system user, which owns the
/// directory (mode 0700: root's processes, the tests' responders among them, still reach the
/// socket); otherwise as the current user. Every local connection is trusted, as on a developer's
/// machine: the socket's directory is the only way in.
///
/// Three roles matter to a test:
/// - ``superuser`` (`postgres`), initdb's bootstrap role;
/// - ``owner`` (`tradedesk_owner`), who owns every database ``createDatabase()`` makes and runs
///   `tradedesk migrate`. It may create databases and roles but is no superuser, as the owner a
///   DBA makes in production (deploy/install.sh), so a migration that needs more fails here first;
/// - login roles a test makes in the group roles that `tradedesk migrate` creates, with
///   ``ensureLoginRole(_:in:)`` or ``run(sql:database:user:)``.
///
/// ```swift
/// let url = try PostgresServer.shared.createDatabase()   // postgresql:///tradedesk_test_1?host=/tmp/...&user=tradedesk_owner
/// try PostgresServer.shared.run(sql: "SELECT count(*) FROM job", database: PostgresServer.databaseName(of: url)!)
/// ```
///
/// ``shared`` is one cluster for the whole test process, started on first use and stopped when the
/// process exits. Tests run in parallel share it, so a test that stops or restarts a server makes
/// one of its own (`PostgresServer()`, which costs an initdb) and calls ``remove()`` at its end.
/// Whatever happens to the test process, even a crash, a watchdog stops the cluster and deletes its
/// directory once the process is gone.
public final class PostgresServer: @unchecked Sendable {
    /// The cluster shared by every test of this process.
    public static let shared = PostgresServer()

    /// initdb's bootstrap superuser.
    public static let superuser = "postgres"
    /// The role that owns the test databases and runs the migrations: `CREATEDB CREATEROLE`, no superuser.
    public static let owner = "tradedesk_owner"

    /// Holds the socket (`.s.PGSQL.5432`), the data directory and the server's log.
    public let directory: String
    public var dataDirectory: String { directory + "/data" }
    public var logPath: String { directory + "/server.log" }
    /// The server's log, for a failing test's message.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    private enum State { case initial, running, stopped, failed(String), removed }

    private let requestedBinaries: String?
    /// Guards the state and the roles made; held while pg_ctl runs.
    private let lock = NSLock()
    /// Guards the counters that name databases and files; never held while a command runs.
    private let counters = NSLock()
    private var state = State.initial
    private var binaries = ""
    private var serverUser: (uid: uid_t, gid: gid_t)?
    private var watchdog: (pid: pid_t, fd: Int32)?
    private var databases = 0
    private var commands = 0
    private var loginRoles: Set<String> = []

    /// A cluster of its own, not yet started: the first call that needs it starts it.
    /// `binaries` is the folder of initdb, pg_ctl, postgres and psql; by default
    /// `/usr/lib/postgresql/15/bin`, else the newest `/usr/lib/postgresql/*/bin`.
    public init(binaries: String? = nil) {
        requestedBinaries = binaries
        var template = Array("/tmp/tradedesk-pg-XXXXXX".utf8CString)
        directory = mkdtemp(&template).map { String(cString: $0) } ?? "/tmp/tradedesk-pg-unavailable"
        // Removed at exit even if it never starts.
        Self.live.withLock { $0[ObjectIdentifier(self)] = ("", directory, false) }
        _ = Self.stopAllAtExit
    }

    deinit { remove() }

    // MARK: URLs

    /// The libpq URL of `database` as `user`, over the cluster's socket:
    /// `postgresql:///NAME?host=SOCKETDIR&user=USER`.
    public func url(database: String, user: String) -> String {
        "postgresql:///\(Self.encode(database))?host=\(Self.encode(directory))&user=\(Self.encode(user))"
    }

    /// The database a URL made by ``url(database:user:)`` names.
    public static func databaseName(of url: String) -> String? {
        URLComponents(string: url).map { String($0.path.dropFirst()) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func encode(_ text: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    // MARK: Databases and roles

    /// The database of a test's `directory`: made on the first call (and handed to `prepare`, to
    /// migrate it), its URL kept in a file there, so that opening the directory again opens the same
    /// database, as another process opens the same SQLite file.
    public func database(keptIn directory: String, prepare: (String) throws -> Void = { _ in }) throws -> String {
        let file = directory + "/postgres-url"
        if let url = try? String(contentsOfFile: file, encoding: .utf8) { return url }
        let url = try createDatabase()
        try prepare(url)
        try url.write(toFile: file, atomically: true, encoding: .utf8)
        return url
    }

    /// A fresh, empty database with a unique name, owned by ``owner``; returns the owner's URL.
    /// Starts the cluster if it has not started yet.
    public func createDatabase() throws -> String {
        try ensureRunning()
        let name = counters.withLock {
            databases += 1
            return "tradedesk_test_\(databases)"
        }
        try run(sql: "CREATE DATABASE \(name)", database: "postgres", user: Self.owner)
        return url(database: name, user: Self.owner)
    }

    /// Drops the database `url` names, ending its sessions first. Slow: PostgreSQL checkpoints the
    /// whole cluster to drop a database, so the tests leave theirs to the end of the process.
    public func dropDatabase(_ url: String) throws {
        guard let name = Self.databaseName(of: url) else { throw TestFailure("no database in \(url)") }
        try run(sql: "DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)", database: "postgres", user: Self.superuser)
    }

    /// Runs `sql` with psql as `user` (by default ``owner``) in `database`, statement by statement,
    /// stopping at the first error (which it throws, with psql's message). Returns what psql printed:
    /// one line per row, columns separated by `|`, no headers (`psql -At`).
    @discardableResult
    public func run(sql: String, database: String = "postgres", user: String? = nil) throws -> String {
        let printed = try psql(sql, database: database, user: user)
        return printed.hasSuffix("\n") ? String(printed.dropLast()) : printed
    }

    /// The rows `sql` (one query) returns, run as ``run(sql:database:user:)`` runs it, each column
    /// as psql prints it: `t`/`f` for a boolean, `\x…` for bytea, the session's text of a
    /// timestamp, and NULL as "". Text may hold `|` and line breaks: rows and columns are split at
    /// ASCII's record and unit separators.
    public func rows(sql: String, database: String = "postgres", user: String? = nil) throws -> [[String]] {
        let printed = try psql(sql, database: database, user: user, options: ["-R", "\u{1E}", "-F", "\u{1F}"])
        // No rows print nothing at all; otherwise psql ends the last row with a line break of its own.
        guard printed.hasSuffix("\n") else { return [] }
        return printed.unicodeScalars.dropLast().split(separator: "\u{1E}", omittingEmptySubsequences: false).map { row in
            row.split(separator: "\u{1F}", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
        }
    }

    /// What psql printed for `sql`, its errors included.
    private func psql(_ sql: String, database: String, user: String?, options: [String] = []) throws -> String {
        try ensureRunning()
        let input = counters.withLock {
            commands += 1
            return directory + "/input-\(commands).sql"
        }
        guard FileManager.default.createFile(atPath: input, contents: Data(sql.utf8)) else {
            throw TestFailure("could not write \(input)")
        }
        defer { unlink(input) }
        let result = try execute(["/usr/bin/timeout", "-k", "5", "120",
                                  binaries + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + options +
                                 ["--dbname=" + url(database: database, user: user ?? Self.owner)],
                                 input: input)
        guard result.status == 0 else {
            throw TestFailure("psql in \(database) failed (status \(result.status)): \(result.output)")
        }
        return result.output
    }

    /// Makes a LOGIN role `name`, a member of `group`, unless this cluster already has it (roles are
    /// the cluster's, not a database's: one such role serves every test database).
    public func ensureLoginRole(_ name: String, in group: String) throws {
        try ensureRunning()
        let made = lock.withLock { loginRoles.contains(name) }
        if made { return }
        try run(sql: """
            DO $$ BEGIN
                CREATE ROLE "\(name)" LOGIN IN ROLE "\(group)";
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                GRANT "\(group)" TO "\(name)";
            END $$;
            """, user: Self.superuser)
        _ = lock.withLock { loginRoles.insert(name) }
    }

    // MARK: Running

    /// Starts the cluster: initdb the first time, then `pg_ctl start`. Does nothing if it runs.
    public func start() throws {
        try lock.withLock {
            switch state {
            case .initial: try setUp()
            case .stopped: try startServer()
            case .running: break
            case .failed(let message): throw TestFailure(message)
            case .removed: throw TestFailure("this PostgreSQL server was removed")
            }
        }
    }

    /// How ``stop(mode:)`` stops the server (pg_ctl's shutdown modes).
    public enum StopMode: String, Sendable {
        /// Ends every session, checkpoints, exits: a clean shutdown, as systemd's stop.
        case fast
        /// Exits at once, with no checkpoint, as a crash would; the next start replays the WAL.
        case immediate
    }

    /// Stops the server, keeping its data. Does nothing unless it runs.
    public func stop(mode: StopMode = .fast) throws {
        try lock.withLock {
            guard case .running = state else { return }
            try stopServer(mode: mode)
        }
    }

    /// `stop(mode: .fast)`, then `start()`: the same data, every session cut.
    public func restart() throws {
        try lock.withLock {
            if case .running = state { try stopServer(mode: .fast) }
        }
        try start()
    }

    /// Stops the server and deletes its directory, data and all. Done at exit for every cluster
    /// still there; a removed server cannot start again.
    public func remove() {
        let watchdog: (pid: pid_t, fd: Int32)? = lock.withLock {
            if case .running = state { try? stopServer(mode: .fast) }
            state = .removed
            let watchdog = self.watchdog
            self.watchdog = nil
            return watchdog
        }
        _ = Self.live.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
        try? FileManager.default.removeItem(atPath: directory)
        if let watchdog {
            close(watchdog.fd)
            var status: Int32 = 0
            while waitpid(watchdog.pid, &status, 0) == -1 && errno == EINTR {}
        }
    }

    private func ensureRunning() throws {
        try lock.withLock {
            switch state {
            case .initial: try setUp()
            case .failed(let message): throw TestFailure(message)
            case .removed: throw TestFailure("this PostgreSQL server was removed")
            case .running, .stopped: break
            }
        }
    }

    /// initdb, the settings, the first start, the owner role. Called with the lock held; a failure
    /// is kept, so that every later call fails at once with the same message.
    private func setUp() throws {
        do {
            binaries = try Self.findBinaries(requestedBinaries)
            guard FileManager.default.fileExists(atPath: directory) else {
                throw TestFailure("could not make a directory for PostgreSQL under /tmp: \(String(cString: strerror(errno)))")
            }
            if isRoot {
                guard let user = getpwnam("postgres") else {
                    throw TestFailure("the tests run as root and initdb refuses root, but there is no `postgres` user to run PostgreSQL as; the Debian package postgresql makes it (apt-get install postgresql)")
                }
                serverUser = (user.pointee.pw_uid, user.pointee.pw_gid)
                chown(directory, user.pointee.pw_uid, user.pointee.pw_gid)
            }
            chmod(directory, 0o700)
            try startWatchdog()
            Self.live.withLock { $0[ObjectIdentifier(self)] = (binaries, directory, serverUser != nil) }

            let initdb = try execute(asServer([binaries + "/initdb", "-D", dataDirectory, "-U", Self.superuser,
                                               "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync",
                                               "--no-instructions"]))
            guard initdb.status == 0 else { throw TestFailure("initdb failed (status \(initdb.status)): \(initdb.output)") }
            let settings = """

                # tradedesk's tests: a unix socket in the cluster's own directory, no TCP.
                listen_addresses = ''
                unix_socket_directories = '\(directory)'
                port = 5432
                # Many test databases, each with the responder's and the bot's pools.
                max_connections = 200
                shared_buffers = 128MB
                # Kept on: the tests check that nothing acknowledged is lost across restarts.
                fsync = on
                synchronous_commit = on

                """
            let conf = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
            defer { try? conf.close() }
            try conf.seekToEnd()
            try conf.write(contentsOf: Data(settings.utf8))
            try startServer()
            state = .running
            try runLocked("CREATE ROLE \(Self.owner) LOGIN CREATEDB CREATEROLE", user: Self.superuser)
        } catch {
            state = .failed("PostgreSQL for the tests did not start: \(error)")
            throw TestFailure("PostgreSQL for the tests did not start: \(error)")
        }
    }

    private func startServer() throws {
        let started = try execute(asServer([binaries + "/pg_ctl", "-D", dataDirectory, "-l", logPath, "-w", "-t", "60", "start"]))
        guard started.status == 0 else {
            throw TestFailure("pg_ctl start failed (status \(started.status)): \(started.output)\n\(log.suffix(2000))")
        }
        state = .running
    }

    private func stopServer(mode: StopMode) throws {
        let stopped = try execute(asServer([binaries + "/pg_ctl", "-D", dataDirectory, "-m", mode.rawValue, "-w", "-t", "60", "stop"]))
        guard stopped.status == 0 else {
            throw TestFailure("pg_ctl stop failed (status \(stopped.status)): \(stopped.output)")
        }
        state = .stopped
    }

    /// `run(sql:)` for `setUp`, which holds the lock.
    private func runLocked(_ sql: String, user: String) throws {
        let result = try execute([binaries + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql,
                                  "--dbname=" + url(database: "postgres", user: user)])
        guard result.status == 0 else { throw TestFailure("psql failed (status \(result.status)): \(result.output)") }
    }

    private static func findBinaries(_ requested: String?) throws -> String {
        let candidates: [String]
        if let requested {
            candidates = [requested]
        } else {
            let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
                .compactMap(Int.init).sorted(by: >)
            candidates = (versions.contains(15) ? [15] : versions).map { "/usr/lib/postgresql/\($0)/bin" }
        }
        guard let found = candidates.first(where: { path in
            ["initdb", "pg_ctl", "postgres", "psql"].allSatisfy { FileManager.default.isExecutableFile(atPath: path + "/" + $0) }
        }) else {
            throw TestFailure("PostgreSQL is not installed: no initdb, pg_ctl, postgres and psql in \(candidates.isEmpty ? "/usr/lib/postgresql/*/bin" : candidates.joined(separator: ", ")); install the Debian package postgresql (apt-get install postgresql; deploy/test.sh installs it)")
        }
        return found
    }

    // MARK: Processes

    /// `command` as the server's user: through setpriv when the tests run as root, in the cluster's
    /// directory (postgres's tools warn when they cannot enter the current one).
    private func asServer(_ command: [String]) -> [String] {
        let inDirectory = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + command
        guard let serverUser else { return inDirectory }
        return ["/usr/bin/setpriv", "--reuid=\(serverUser.uid)", "--regid=\(serverUser.gid)", "--init-groups", "--"] + inDirectory
    }

    /// A shell that waits for the end of this process (the end of a pipe only this process holds),
    /// then stops the cluster at once and deletes its directory: nothing is left running after a
    /// test process that crashed.
    private func startWatchdog() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TestFailure("pipe failed: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let stop = asServer([binaries + "/pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "stop"])
        let script = "cat >/dev/null; \"$@\" >/dev/null 2>&1; rm -rf \"$0\""
        let pid = try Self.spawn(["/bin/sh", "-c", script, directory] + stop, stdin: fds[0], output: "/dev/null")
        close(fds[0])
        watchdog = (pid, fds[1])
    }

    /// Runs `command` to its end, with `input` (a file) or /dev/null as its stdin; returns its exit
    /// status and everything it printed.
    private func execute(_ command: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let output = counters.withLock { () -> String in
            commands += 1
            return directory + "/output-\(commands).txt"
        }
        defer { unlink(output) }
        let pid = try Self.spawn(command, stdin: nil, input: input, output: output)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let signalled = status & 0x7f
        return (signalled == 0 ? (status >> 8) & 0xff : 128 + signalled, printed)
    }

    /// `command` started by the tests' `spawn`, its output into `output` (from the start).
    private static func spawn(_ command: [String], stdin: Int32?, input: String? = nil, output: String) throws -> pid_t {
        try TestSupport.spawn(command[0], Array(command.dropFirst()), stdin: input ?? "/dev/null",
                              passing: stdin.map { [0: $0] } ?? [:], output: output, appending: false)
    }

    // MARK: Exit

    /// The clusters not yet removed, by what stops them without the object.
    private static let live = Registry()

    /// Registered once, with the first cluster: at exit, a fast stop of each one still there, and
    /// its directory deleted.
    private static let stopAllAtExit: Void = {
        atexit {
            for (binaries, directory, asPostgres) in PostgresServer.live.withLock({ Array($0.values) }) {
                guard !binaries.isEmpty else {
                    try? FileManager.default.removeItem(atPath: directory)
                    continue
                }
                var command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory,
                               binaries + "/pg_ctl", "-D", directory + "/data", "-m", "fast", "-w", "stop"]
                if asPostgres, let user = getpwnam("postgres") {
                    command = ["/usr/bin/setpriv", "--reuid=\(user.pointee.pw_uid)", "--regid=\(user.pointee.pw_gid)",
                               "--init-groups", "--"] + command
                }
                if let pid = try? PostgresServer.spawn(command, stdin: nil, output: "/dev/null") {
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                }
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
    }()

    private final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var servers: [ObjectIdentifier: (binaries: String, directory: String, asPostgres: Bool)] = [:]

        func withLock<T>(_ body: (inout [ObjectIdentifier: (binaries: String, directory: String, asPostgres: Bool)]) -> T) -> T {
            lock.lock()
            defer { lock.unlock() }
            return body(&servers)
        }
    }
}
