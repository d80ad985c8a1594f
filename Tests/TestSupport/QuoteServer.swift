import Foundation

/// A stooq-like quote server on a loopback port, for the bot's tests. The code in `?s=` decides
/// the answer: `aapl.us` is quoted at 93.42, `nd.*` has `N/D` fields, `fail.*` answers HTTP 500,
/// `garbage.*` a body that is not CSV, `slow.*` waits 30 s, `slowonce.*` waits 30 s the first time
/// only; other codes are quoted at 10.5. `redirects[code]` answers that code with a 302 to the
/// given Location, `bodies[code]` with a 200 and the given body. `latency` delays every answer (a
/// quote server that far away), `delays[code]` that code's answers (on top of `latency`).
/// `inFlight` and `maxInFlight` count requests being answered at once.
public final class QuoteServer: @unchecked Sendable {
    public let address: String
    public let port: UInt16
    private let fd: Int32
    private let requests = NSLock()
    private var seen: [String] = []
    private var redirectTable: [String: String] = [:]
    private var bodyTable: [String: String] = [:]
    private var delayTable: [String: TimeInterval] = [:]
    private var latencySeconds: TimeInterval
    private var current = 0
    private var most = 0

    /// `address` is a loopback address: `127.0.0.1`, or another of 127/8 (`127.0.0.2`) for a second host.
    public init(address: String = "127.0.0.1", latency: TimeInterval = 0) throws {
        self.address = address
        latencySeconds = latency
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(self.address)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 64) == 0 else { throw TestFailure("quote server: cannot listen") }
        fd = listener
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// The URL template for `STOCKBOT_QUOTE_URL`.
    public var urlTemplate: String { "http://\(address):\(port)/q/l/?s={code}&f=sd2t2ohlcv&h&e=csv" }

    /// The quote URL for `code`, as the bot would ask for it.
    public func url(for code: String) -> String { urlTemplate.replacingOccurrences(of: "{code}", with: code) }

    /// Codes answered with `302 Found` and this `Location` (absolute or relative).
    public var redirects: [String: String] {
        get { requests.withLock { redirectTable } }
        set { requests.withLock { redirectTable = newValue } }
    }

    /// Codes answered with `200 OK` and this body.
    public var bodies: [String: String] {
        get { requests.withLock { bodyTable } }
        set { requests.withLock { bodyTable = newValue } }
    }

    /// Seconds every answer waits before it is sent.
    public var latency: TimeInterval {
        get { requests.withLock { latencySeconds } }
        set { requests.withLock { latencySeconds = newValue } }
    }

    /// Codes whose answers wait this many seconds more.
    public var delays: [String: TimeInterval] {
        get { requests.withLock { delayTable } }
        set { requests.withLock { delayTable = newValue } }
    }

    /// The most requests that were being answered at the same time.
    public var maxInFlight: Int { requests.withLock { most } }

    /// How many times `code` was asked for.
    public func count(_ code: String) -> Int { codes.filter { $0 == code }.count }

    /// The codes asked for so far.
    public var codes: [String] { requests.withLock { seen } }

    /// Only shuts the listener down: the accept loop closes it. Closing it here let a loop that was
    /// not inside accept() at that moment accept on the fd number's next owner, often the next test's
    /// quote server, and answer (uncounted) for it.
    public func stop() { shutdown(fd, Int32(SHUT_RDWR)) }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else {
                close(fd)
                return
            }
            Thread { [self] in serve(client) }.start()
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(client, &buffer, buffer.count, 0)
        guard n > 0 else { return }
        let request = String(decoding: buffer[0..<n], as: UTF8.self)
        let target = request.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        let code = URLComponents(string: target)?.queryItems?.first { $0.name == "s" }?.value ?? ""
        let wait = requests.withLock { () -> TimeInterval in
            seen.append(code)
            current += 1
            most = max(most, current)
            return latencySeconds + (delayTable[code] ?? 0)
        }
        defer { requests.withLock { current -= 1 } }
        if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
        let header = "Symbol,Date,Time,Open,High,Low,Close,Volume\r\n"
        let (status, body): (String, String)
        var extra = ""
        let (redirect, fixedBody) = requests.withLock { (redirectTable[code], bodyTable[code]) }
        if let redirect {
            (status, body) = ("302 Found", "")
            extra = "Location: \(redirect)\r\n"
        } else if let fixedBody {
            (status, body) = ("200 OK", fixedBody)
        } else {
            switch code.split(separator: ".").first.map(String.init) ?? "" {
            case "aapl": (status, body) = ("200 OK", header + "AAPL.US,2026-11-20,22:00:09,92.1,94.0,91.5,93.42,51234567\r\n")
            case "nd": (status, body) = ("200 OK", header + "\(code.uppercased()),N/D,N/D,N/D,N/D,N/D,N/D,N/D\r\n")
            case "fail": (status, body) = ("500 Internal Server Error", "oops")
            case "garbage": (status, body) = ("200 OK", "<html>not a quote</html>")
            case "slow":
                sleep(30)
                (status, body) = ("200 OK", header)
            case "slowonce" where codes.filter({ $0 == code }).count == 1:
                sleep(30)
                (status, body) = ("200 OK", header)
            default: (status, body) = ("200 OK", header + "\(code.uppercased()),2026-11-20,22:00:09,10,11,9,10.5,1000\r\n")
            }
        }
        let answer = "HTTP/1.1 \(status)\r\n\(extra)Content-Type: text/csv\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = answer.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
}
