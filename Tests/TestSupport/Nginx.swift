import Foundation

/// A real nginx on a free loopback port, running the repository's nginx.conf as rendered by
/// deploy/render-nginx-conf.sh, in front of a responder's unix socket (a path) or TCP `host:port`.
///
/// With `tls`, nginx runs the production server blocks (deploy/render-nginx-conf.sh's TLS mode) with a
/// self-signed certificate made here with openssl: HTTPS with HTTP/2 on `httpsPort`, and `port`
/// redirecting to it (but ACME challenges, from `acmeRoot`). `serverName` is the renderer's
/// SERVER_NAME (the host names served; its default is "127.0.0.1 localhost").
public final class Nginx: @unchecked Sendable {
    public let port: UInt16
    /// The HTTPS port, with `tls`.
    public let httpsPort: UInt16?
    /// The self-signed certificate (PEM), with `tls`.
    public let certificate: String?
    public let prefix: String
    private let process: ChildProcess

    /// Where nginx serves `/.well-known/acme-challenge/` from on the plain port, with `tls`.
    public var acmeRoot: String { prefix + "/acme" }

    public init(upstream: String, directory: TemporaryDirectory, webroot: String? = nil,
                tls: Bool = false, serverName: String? = nil) throws {
        port = try freePort()
        prefix = directory.file("nginx")
        var environment: [String: String] = [:]
        if let serverName { environment["SERVER_NAME"] = serverName }
        if tls {
            let https = try freePort()
            let names = (serverName ?? "127.0.0.1 localhost").split(separator: " ")
            let key = directory.file("tls-key.pem"), cert = directory.file("tls-cert.pem")
            let made = try ChildProcess.run("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(names[0])",
                "-addext", "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ","),
                "-keyout", key, "-out", cert,
            ], logPath: directory.file("openssl.log"))
            guard made.status == 0 else { throw TestFailure("openssl failed: \(made.output)") }
            environment["TLS_CERT"] = cert
            environment["TLS_KEY"] = key
            environment["HTTPS_PORT"] = String(https)
            httpsPort = https
            certificate = cert
        } else {
            httpsPort = nil
            certificate = nil
        }
        for sub in ["", "/logs", "/temp", "/acme"] {
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
            environment: environment, logPath: conf)
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
