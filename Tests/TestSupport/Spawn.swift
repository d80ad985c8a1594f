import Foundation

/// posix_spawn as the tests start every process: signals unblocked and at their defaults (the test
/// process may block or ignore them), stdin from `stdin` (a path, or one of the test's descriptors
/// through `passing`), stdout and stderr into `output`, `passing` mapping a child descriptor to one
/// of the test's, and every other descriptor of the test process closed in the child, so that a
/// process that outlives the test (a postmaster) holds none of its sockets or pipes open.
func spawn(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
           stdin: String = "/dev/null", passing: [Int32: Int32] = [:], output: String, appending: Bool = true) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if passing[0] == nil { posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0) }
    for (target, source) in passing { posix_spawn_file_actions_adddup2(&actions, source, target) }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | (appending ? O_APPEND : O_TRUNC), 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    guard let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
        throw TestFailure("this C library has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later has it)")
    }
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, max(3, (passing.keys.max() ?? 0) + 1))

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in [SIGPIPE, SIGTERM, SIGINT, SIGUSR1, SIGHUP] { sigaddset(&defaults, sig) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
    defer { (argv + (envp ?? [])).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = envp.map { envp in posix_spawn(&pid, executable, &actions, &attributes, argv, envp) }
        ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
    guard rc == 0 else { throw TestFailure("could not start \(executable): \(String(cString: strerror(rc)))") }
    return pid
}
