import Foundation

/// A process the test started, with its stderr in a file, and a real `waitpid` for its exit status.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stderrPath: String
    private var exitStatus: Int32?

    /// Starts `executable`; stdout and stderr go to `logPath`. The environment is the test's own plus
    /// `environment`. `passing` maps a child fd to one of the test's fds (e.g. a listening socket as fd 3).
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                passing: [Int32: Int32] = [:], logPath: String) throws {
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        stderrPath = logPath
        pid = try spawn(executable, arguments, environment: merged, passing: passing, output: logPath)
    }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// The exit status, or `nil` while it runs. A death by signal reports 128 + the signal.
    public func poll() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signalled = status & 0x7f
        exitStatus = signalled == 0 ? (status >> 8) & 0xff : 128 + signalled
        return exitStatus
    }

    /// Waits for the exit; `nil` if it is still running after `timeout`.
    public func wait(timeout: Duration) -> Int32? {
        _ = eventually(timeout: timeout) { poll() != nil }
        return poll()
    }

    /// SIGTERM, then SIGKILL if it does not go within `grace`.
    public func stop(grace: Duration = .seconds(5)) {
        guard poll() == nil else { return }
        signal(SIGTERM)
        if wait(timeout: grace) == nil { signal(SIGKILL); _ = wait(timeout: .seconds(5)) }
    }

    public var output: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Threads of the running process, from /proc.
    public var threadCount: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
            .flatMap { Int($0.dropFirst(8).trimmingCharacters(in: .whitespaces)) }
    }

    deinit { stop() }
}

extension ChildProcess {
    /// Runs a command to its end with `input` on its stdin; returns its status and output.
    public static func run(_ executable: String, _ arguments: [String], input: String = "",
                           environment: [String: String] = [:], logPath: String,
                           timeout: Duration = .seconds(30)) throws -> (status: Int32?, output: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TestFailure("pipe failed") }
        let process = try ChildProcess(executable, arguments, environment: environment, passing: [0: fds[0]], logPath: logPath)
        close(fds[0])
        let bytes = Array(input.utf8)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        return (process.wait(timeout: timeout), process.output)
    }
}
