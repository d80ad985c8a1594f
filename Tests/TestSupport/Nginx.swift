import Foundation

/// A real nginx on a free loopback port, running the repository's nginx.conf as rendered by
/// deploy/render-nginx-conf.sh, in front of a responder's unix socket (a path) or TCP `host:port`.
public final class Nginx: @unchecked Sendable {
    public let port: UInt16
    public let prefix: String
    private let process: ChildProcess

    public init(upstream: String, directory: TemporaryDirectory, webroot: String? = nil) throws {
        port = try freePort()
        prefix = directory.file("nginx")
        for sub in ["", "/logs", "/temp"] {
            try FileManager.default.createDirectory(atPath: prefix + sub, withIntermediateDirectories: true)
        }
        // A copy of the page in the test's directory: nginx's workers (www-data when the tests run as
        // root) may not be allowed into the checkout's parent directories.
        let www = directory.file("www")
        if webroot == nil {
            try? FileManager.default.removeItem(atPath: www)
            try FileManager.default.copyItem(atPath: Paths.repository.appendingPathComponent("web").path, toPath: www)
        }
        let conf = prefix + "/nginx.conf"
        let render = try ChildProcess(
            Paths.repository.appendingPathComponent("deploy/render-nginx-conf.sh").path,
            [prefix, String(port), upstream, webroot ?? www],
            logPath: conf)
        guard render.wait(timeout: .seconds(10)) == 0 else { throw TestFailure("render-nginx-conf.sh failed: \(render.output)") }
        process = try ChildProcess("/usr/sbin/nginx",
                                   ["-p", prefix, "-c", conf, "-e", prefix + "/logs/error.log", "-g", "daemon off;"],
                                   logPath: prefix + "/logs/stderr.log")
        let up = eventually(timeout: .seconds(10)) {
            (try? HTTPClient.request(port: port, "GET", "/", timeout: .seconds(1))) != nil
        }
        guard up else { throw TestFailure("nginx did not start: \(process.output) \(errorLog)") }
    }

    public var errorLog: String { (try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? "" }

    public func stop() { process.stop() }

    deinit { stop() }
}
