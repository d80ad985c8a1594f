import Foundation
import Testing
import TestSupport

/// An answer as the `curl` binary saw it.
struct CurlResult: CustomStringConvertible {
    let status: Int
    let httpVersion: String
    /// Lower-case names; repeated headers joined with "\n".
    let headers: [String: String]
    let body: String
    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var description: String { "\(status) HTTP/\(httpVersion) \(headers) \(body)" }
}

/// Runs `curl` (a child process) against the stack's nginx over TLS, trusting its self-signed
/// certificate, with `name` resolved to 127.0.0.1.
struct Curl {
    let directory: TemporaryDirectory
    let name: String
    let nginx: Nginx

    var base: String { "https://\(name):\(nginx.httpsPort!)" }

    func callAsFunction(_ arguments: [String], timeout: Duration = .seconds(20)) throws -> CurlResult {
        let id = UUID().uuidString
        let headerFile = directory.file("curl-\(id).headers"), bodyFile = directory.file("curl-\(id).body")
        let run = try ChildProcess.run("/usr/bin/curl", [
            "-sS", "--max-time", "15", "--cacert", nginx.certificate!,
            "--resolve", "\(name):\(nginx.httpsPort!):127.0.0.1", "--resolve", "\(name):\(nginx.port):127.0.0.1",
            "-D", headerFile, "-o", bodyFile, "-w", "%{http_code} %{http_version}",
        ] + arguments, logPath: directory.file("curl-\(id).log"), timeout: timeout)
        guard run.status == 0 else { throw TestFailure("curl \(arguments) failed (\(String(describing: run.status))): \(run.output)") }
        let parts = run.output.split(separator: " ")
        var headers: [String: String] = [:]
        let head = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        for line in head.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[key] = headers[key].map { $0 + "\n" + value } ?? value
        }
        return CurlResult(status: Int(parts.first ?? "") ?? 0, httpVersion: parts.count > 1 ? String(parts[1]) : "",
                          headers: headers, body: (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? "")
    }
}

let securityHeaders = ["content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options",
                       "cross-origin-opener-policy", "permissions-policy"]

/// The production server blocks (deploy/render-nginx-conf.sh's TLS mode) with the real responder.
@Suite(.serialized)
struct TLSProductionTests {
    @Test func productionTLSRedirectHSTSHTTP2SecureCookieAndLongPoll() throws {
        let stack = try ResponderStack.tradedesk(environment: ["REGISTRATION": "open"], tls: true,
                                                 serverName: "tradedesk.test desk.test")
        defer { stack.stop() }
        let curl = Curl(directory: stack.directory, name: "tradedesk.test", nginx: stack.nginx)
        let https = stack.nginx.httpsPort!

        // Plain HTTP: 301 to HTTPS, with path and query, for every name; the ACME challenge is served.
        let redirect = try stack.request("GET", "/api/health?x=1", headers: ["Host": "tradedesk.test:\(stack.port)"])
        #expect(redirect.status == 301)
        #expect(redirect.header("location") == "https://tradedesk.test:\(https)/api/health?x=1")
        let challenge = stack.nginx.acmeRoot + "/.well-known/acme-challenge"
        try FileManager.default.createDirectory(atPath: challenge, withIntermediateDirectories: true)
        try "token-for-certbot".write(toFile: challenge + "/abc", atomically: true, encoding: .utf8)
        let acme = try stack.request("GET", "/.well-known/acme-challenge/abc", headers: ["Host": "desk.test"])
        #expect(acme.status == 200, "\(acme)")
        #expect(acme.text == "token-for-certbot")

        // HTTPS: HTTP/2, HSTS and the other security headers on the page.
        let page = try curl(["--http2", curl.base + "/"])
        #expect(page.status == 200)
        #expect(page.httpVersion == "2")
        #expect(page.body.contains("<html"))
        #expect(page.header("strict-transport-security") == "max-age=63072000")
        for header in securityHeaders { #expect(page.header(header) != nil, "\(header) on the page") }
        #expect(try curl(["--http2", "-k", curl.base + "/api/health"]).httpVersion == "2")

        // A login over TLS sets a Secure __Host- cookie (the responder sees HTTPS=on).
        let credentials = "{\"username\":\"alice\",\"password\":\"correct horse battery\"}"
        let origin = ["-H", "Origin: \(curl.base)", "-H", "Content-Type: application/json"]
        #expect(try curl(["-X", "POST", "-d", credentials] + origin + [curl.base + "/api/users"]).status == 201)
        let login = try curl(["-X", "POST", "-d", credentials] + origin + [curl.base + "/api/session"])
        #expect(login.status == 200, "\(login)")
        let setCookie = login.header("set-cookie") ?? ""
        #expect(setCookie.hasPrefix("__Host-tradedesk_session="), "\(setCookie)")
        for attribute in ["; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"] {
            #expect(setCookie.contains(attribute), "\(attribute) in \(setCookie)")
        }
        #expect(!setCookie.contains("Domain="), "a __Host- cookie has no Domain: \(setCookie)")
        // Whatever its name, the cookie works for the rest (so the chat is checked either way).
        let cookie = String(setCookie.split(separator: ";").first ?? "")
        #expect(try curl(["-H", "Cookie: \(cookie)", curl.base + "/api/session"]).body.contains("alice"))

        // A long-poll over TLS (HTTP/2), answered by a post from another request.
        let recent = try curl(["-H", "Cookie: \(cookie)", curl.base + "/api/rooms/1/messages"])
        #expect(recent.status == 200, "\(recent)")
        let lastID = ((try JSONSerialization.jsonObject(with: Data(recent.body.utf8)) as? [[String: Any]]) ?? [])
            .compactMap { $0["id"] as? Int }.max() ?? 0
        let pollOutput = stack.directory.file("longpoll.body")
        let poll = try ChildProcess("/usr/bin/curl", [
            "-sS", "--http2", "--max-time", "20", "--cacert", stack.nginx.certificate!,
            "--resolve", "tradedesk.test:\(https):127.0.0.1", "-H", "Cookie: \(cookie)", "-o", pollOutput,
            "-w", "%{http_code} %{http_version}", curl.base + "/api/rooms/1/messages?after=\(lastID)&wait=15",
        ], logPath: stack.directory.file("longpoll.log"))
        // Held, then released by the post.
        #expect(eventually(timeout: .seconds(5)) {
            ((try? curl([curl.base + "/api/health"]).body) ?? "").contains("\"held_requests\":1")
        }, "the long-poll is not held")
        let posted = try curl(["-X", "POST", "-H", "Cookie: \(cookie)", "-d", "{\"text\":\"over TLS\"}"] + origin
                              + [curl.base + "/api/rooms/1/messages"])
        #expect(posted.status == 201, "\(posted)")
        #expect(poll.wait(timeout: .seconds(10)) == 0, "the long-poll did not end: \(poll.output)")
        #expect(poll.output == "200 2", "\(poll.output)")
        #expect(((try? String(contentsOfFile: pollOutput, encoding: .utf8)) ?? "").contains("\"text\":\"over TLS\""))

        // nginx's own answers over TLS carry HSTS and the other headers too: 421 for a foreign Host
        // on a known TLS name, 405 (TRACE), 502 (the responder gone). An unknown TLS name is refused.
        let misdirected = try curl(["-H", "Host: rebound.example", curl.base + "/api/health"])
        #expect(misdirected.status == 421, "\(misdirected)")
        #expect(misdirected.body.hasPrefix("{\"error\":\"misdirected request"), "\(misdirected)")
        let trace = try curl(["-X", "TRACE", curl.base + "/api/health"])
        #expect(trace.status == 405)
        let rejected = try ChildProcess.run("/usr/bin/curl", [
            "-sS", "-k", "--max-time", "5", "--resolve", "rebound.example:\(https):127.0.0.1", "https://rebound.example:\(https)/",
        ], logPath: stack.directory.file("curl-unknown-name.log"))
        #expect(rejected.status == 35, "a handshake for an unknown name: \(rejected.output)")
        stack.responder.stop()
        let unavailable = try curl([curl.base + "/api/health"])
        #expect(unavailable.status == 502)
        for answer in [misdirected, trace, unavailable] {
            #expect(answer.header("strict-transport-security") == "max-age=63072000", "HSTS on \(answer.status)")
            #expect(answer.header("cache-control") == "no-store", "no-store on \(answer.status)")
            for header in securityHeaders { #expect(answer.header(header) != nil, "\(header) on \(answer.status)") }
        }
    }
}

/// Only the configured host names are served (DNS rebinding): everything else gets nginx's 421 JSON.
@Suite(.serialized)
struct HostNameTests {
    @Test func foreignHostNamesGet421AndTheAllowedNamesWork() throws {
        let stack = try ResponderStack.tradedesk(environment: ["REGISTRATION": "open"])
        defer { stack.stop() }
        for host in ["127.0.0.1:\(stack.port)", "localhost:\(stack.port)", "localhost", "127.0.0.1"] {
            let health = try stack.request("GET", "/api/health", headers: ["Host": host])
            #expect(health.status == 200, "\(host): \(health)")
            #expect(health.header("strict-transport-security") == nil, "no HSTS over plain HTTP")
        }
        // A name rebound to this address, for a read and for a login.
        for (method, path) in [("GET", "/api/health"), ("POST", "/api/session"), ("GET", "/")] {
            let rebound = try stack.request(method, path, headers: ["Host": "attacker.example:\(stack.port)", "Content-Type": "application/json"])
            #expect(rebound.status == 421, "\(method) \(path): \(rebound)")
            #expect(try rebound.json()["error"] as? String
                    == "misdirected request: this server does not answer for the host name sent (Host header or TLS server name); use the desk by its own name")
            #expect(rebound.header("content-type") == "application/json")
            #expect(rebound.header("cache-control") == "no-store")
        }
        // HTTP/1.0 without a Host header.
        let connection = try HTTPConnection(port: stack.port)
        try connection.sendRaw(Array("GET /api/health HTTP/1.0\r\n\r\n".utf8))
        let noHost = try connection.readResult()
        #expect(noHost.status == 421, "\(noHost)")
        #expect(try noHost.json()["error"] != nil)
        // None of those reached the responder.
        #expect(!stack.responder.output.contains("attacker.example"))
    }

    @Test func serverNameOverridesTheAllowedNames() throws {
        let stack = try ResponderStack(executable: Paths.product("tradedesk"), serverName: "desk.internal") { socket, directory in
            ["serve", "--listen", "unix:\(socket)", "--database", directory.file("tradedesk.sqlite")]
        }
        defer { stack.stop() }
        #expect(try stack.request("GET", "/api/health", headers: ["Host": "desk.internal"]).status == 200)
        #expect(try stack.request("GET", "/api/health").status == 421, "127.0.0.1 is no longer a name served")
    }
}
