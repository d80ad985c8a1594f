import CCurl
import ProcessSupport
import Foundation

/// Fetches a quote over HTTP with libcurl's easy interface. Blocking, and bounded by `totalTimeout`
/// (redirects included): it runs on one of the bot's fetch threads, each fetch on a handle of its own.
///
/// Network reach: only the quote URL's scheme (`https`, or `http` when the configured URL is
/// `http`, as the tests' loopback server is), and redirects only to the quote URL's own scheme, host
/// and port, at most `maxRedirects` of them. libcurl never follows a redirect by itself
/// (`CURLOPT_FOLLOWLOCATION` is 0): the client reads `CURLINFO_REDIRECT_URL`, parses it with
/// libcurl's own URL parser (the one that would fetch it) and refuses any other origin.
/// Every `curl_easy_setopt`, `curl_easy_perform` and `curl_easy_getinfo` result is checked.
public struct QuoteClient: Sendable {
    /// A URL with `{code}` where the percent-encoded code goes.
    public let urlTemplate: String
    public var connectTimeout: Int = 3
    public var totalTimeout: Int = 10
    /// Redirects followed within the quote URL's origin before the answer counts as a failure.
    public var maxRedirects: Int = 3

    public static let defaultTemplate = "https://stooq.com/q/l/?s={code}&f=sd2t2ohlcv&h&e=csv"

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Transport error, timeout, an HTTP status that is not 2xx, an answer over 64 KiB, too many
        /// redirects: worth another try.
        case transient(String)
        /// A redirect to another scheme, host or port: refused, and not tried again. `quoteHost` is
        /// the configured quote host and port, never a URL (which holds the user's code).
        case redirectRefused(quoteHost: String)
        /// libcurl refused an option or a query, or the quote URL is not usable: a programming,
        /// configuration or libcurl-build error. Found at start-up by `checkConfiguration()`.
        case misconfigured(String)

        public var description: String {
            switch self {
            case .transient(let text): text
            case .redirectRefused(let host): "the quote server \(host) answered with a redirect to another host, port or scheme; refused"
            case .misconfigured(let text): text
            }
        }
    }

    public init(urlTemplate: String) {
        self.urlTemplate = urlTemplate
    }

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    public func url(for code: String) -> String {
        let encoded = code.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".-_"))) ?? code
        return urlTemplate.replacingOccurrences(of: "{code}", with: encoded)
    }

    /// Scheme, host and port of a URL as libcurl reads it.
    public struct Origin: Equatable, Sendable, CustomStringConvertible {
        public let scheme: String
        public let host: String
        public let port: String
        public var description: String { "\(host):\(port)" }
    }

    /// The quote URL's host and port, for logs (never the URL, which could hold credentials or a code).
    public var quoteHost: String { Self.origin(of: url(for: "aapl.us"))?.description ?? "?" }

    /// The origin of an absolute URL, parsed by libcurl (`curl_url`); `nil` if libcurl cannot parse it.
    public static func origin(of url: String) -> Origin? {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK else { return nil }
        func part(_ which: CURLUPart, _ flags: Int32 = 0) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &value, UInt32(flags)) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }
        guard let scheme = part(CURLUPART_SCHEME), let host = part(CURLUPART_HOST), !host.isEmpty,
              let port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT) else { return nil }
        return Origin(scheme: scheme.lowercased(), host: host.lowercased(), port: port)
    }

    /// The quote URL's origin, and every option set once on a probe handle that never fetches: a
    /// template that is not an absolute `http` or `https` URL, or an option this libcurl refuses,
    /// throws `misconfigured` before the bot takes any job.
    @discardableResult
    public func checkConfiguration() throws(Failure) -> Origin {
        let origin = try quoteOrigin(for: url(for: "aapl.us"))
        // `{code}` goes in the path or query: a code must never choose the host.
        guard Self.origin(of: url(for: "^x-1_z")) == origin else {
            throw .misconfigured("the quote URL's {code} must not be in its scheme, host or port")
        }
        guard let handle = curl_easy_init() else { throw .misconfigured("curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        let sink = Sink()
        try configure(handle, origin: origin, sink: sink)
        try Self.set(handle, CURLOPT_URL, "CURLOPT_URL", url(for: "aapl.us"))
        return origin
    }

    private func quoteOrigin(for url: String) throws(Failure) -> Origin {
        guard Self.globalInit else { throw .misconfigured("curl_global_init failed") }
        guard let origin = Self.origin(of: url) else {
            throw .misconfigured("the quote URL is not an absolute URL libcurl can read")
        }
        guard origin.scheme == "https" || origin.scheme == "http" else {
            throw .misconfigured("the quote URL's scheme must be https (or http), not \(origin.scheme.filter(\.isASCII))")
        }
        return origin
    }

    /// The body of a 2xx answer. Throws `transient` for transport errors, timeouts, other statuses
    /// and too many redirects, `redirectRefused` for a redirect out of the quote URL's origin, and
    /// `misconfigured` when libcurl refuses an option or a query.
    public func fetch(code: StockCode) throws(Failure) -> String {
        var target = url(for: code.value)
        let origin = try quoteOrigin(for: target)
        guard let handle = curl_easy_init() else { throw .misconfigured("curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        let sink = Sink()
        try configure(handle, origin: origin, sink: sink)
        var redirects = 0
        // `totalTimeout` bounds the whole fetch, redirects included: each request gets what is left.
        let deadline = ContinuousClock.now + .seconds(totalTimeout)
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { throw .transient("the quote server took longer than \(totalTimeout) s, redirects included") }
            try Self.set(handle, CURLOPT_TIMEOUT_MS, "CURLOPT_TIMEOUT_MS", max(1, Int((left.seconds * 1000).rounded(.up))))
            try Self.set(handle, CURLOPT_URL, "CURLOPT_URL", target)
            sink.data.removeAll(keepingCapacity: true)
            let result = curl_easy_perform(handle)
            guard result == CURLE_OK else {
                let text = "curl_easy_perform failed: \(String(cString: curl_easy_strerror(result)))"
                switch result {
                case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_NOT_BUILT_IN,
                     CURLE_UNKNOWN_OPTION, CURLE_OUT_OF_MEMORY, CURLE_FAILED_INIT:
                    throw .misconfigured(text)
                default:
                    throw .transient(text)
                }
            }
            var status = 0
            try Self.check(tradedesk_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status), "curl_easy_getinfo(CURLINFO_RESPONSE_CODE)")
            if (300..<400).contains(status) {
                var location: UnsafeMutablePointer<CChar>?
                try Self.check(tradedesk_curl_getinfo_string(handle, CURLINFO_REDIRECT_URL, &location),
                               "curl_easy_getinfo(CURLINFO_REDIRECT_URL)")
                guard let location else { throw .transient("the quote server answered HTTP \(status) without a usable Location") }
                let next = String(cString: location)
                guard Self.origin(of: next) == origin else { throw .redirectRefused(quoteHost: origin.description) }
                guard redirects < maxRedirects else {
                    throw .transient("the quote server redirected more than \(maxRedirects) times")
                }
                redirects += 1
                target = next
                continue
            }
            guard (200..<300).contains(status) else { throw .transient("the quote server answered HTTP \(status)") }
            return String(decoding: sink.data, as: UTF8.self)
        }
    }

    private final class Sink { var data = Data() }

    /// Every option but the URL. Each one's result is checked: libcurl refusing one is a bug here or
    /// a libcurl built without what the bot needs.
    private func configure(_ handle: UnsafeMutableRawPointer, origin: Origin, sink: Sink) throws(Failure) {
        try Self.set(handle, CURLOPT_NOSIGNAL, "CURLOPT_NOSIGNAL", 1)
        try Self.set(handle, CURLOPT_CONNECTTIMEOUT, "CURLOPT_CONNECTTIMEOUT", connectTimeout)
        // Redirects are followed above, after their origin is checked; never by libcurl.
        try Self.set(handle, CURLOPT_FOLLOWLOCATION, "CURLOPT_FOLLOWLOCATION", 0)
        // Only the quote URL's scheme: https, or http when the configured URL is http.
        try Self.set(handle, CURLOPT_PROTOCOLS_STR, "CURLOPT_PROTOCOLS_STR", origin.scheme)
        try Self.set(handle, CURLOPT_REDIR_PROTOCOLS_STR, "CURLOPT_REDIR_PROTOCOLS_STR", origin.scheme)
        try Self.set(handle, CURLOPT_USERAGENT, "CURLOPT_USERAGENT", "tradedesk-stockbot/1")
        try Self.check(tradedesk_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()),
                       "curl_easy_setopt(CURLOPT_WRITEDATA)")
        try Self.check(tradedesk_curl_setopt_writefn(handle) { data, size, count, context in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            // Quotes are a few hundred bytes: refuse to collect more than 64 KiB.
            guard sink.data.count + length <= 65_536 else { return 0 }
            sink.data.append(UnsafeRawPointer(data!).assumingMemoryBound(to: UInt8.self), count: length)
            return length
        }, "curl_easy_setopt(CURLOPT_WRITEFUNCTION)")
    }

    static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ name: String, _ value: Int) throws(Failure) {
        try check(tradedesk_curl_setopt_long(handle, option, value), "curl_easy_setopt(\(name), \(value))")
    }

    static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ name: String, _ value: String) throws(Failure) {
        try check(tradedesk_curl_setopt_string(handle, option, value), "curl_easy_setopt(\(name))")
    }

    static func check(_ code: CURLcode, _ call: String) throws(Failure) {
        guard code == CURLE_OK else { throw .misconfigured("\(call) failed: \(String(cString: curl_easy_strerror(code)))") }
    }
}
