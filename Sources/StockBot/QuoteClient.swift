import CCurl
import Foundation

/// Fetches a quote over HTTP with libcurl. Blocking: it runs on the bot's own worker thread.
public struct QuoteClient: Sendable {
    /// A URL with `{code}` where the percent-encoded code goes.
    public let urlTemplate: String
    public var connectTimeout: Int = 3
    public var totalTimeout: Int = 10

    public static let defaultTemplate = "https://stooq.com/q/l/?s={code}&f=sd2t2ohlcv&h&e=csv"

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(urlTemplate: String) {
        self.urlTemplate = urlTemplate
    }

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    public func url(for code: String) -> String {
        let encoded = code.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".-_"))) ?? code
        return urlTemplate.replacingOccurrences(of: "{code}", with: encoded)
    }

    /// The body of a 2xx answer; throws for transport errors, timeouts and other statuses.
    public func fetch(code: String) throws(Failure) -> String {
        precondition(Self.globalInit, "curl_global_init failed")
        guard let handle = curl_easy_init() else { throw Failure(description: "curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        final class Sink { var data = Data() }
        let sink = Sink()
        let target = url(for: code)
        tradedesk_curl_setopt_string(handle, CURLOPT_URL, target)
        tradedesk_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        tradedesk_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeout)
        tradedesk_curl_setopt_long(handle, CURLOPT_TIMEOUT, totalTimeout)
        tradedesk_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1)
        tradedesk_curl_setopt_long(handle, CURLOPT_MAXREDIRS, 3)
        tradedesk_curl_setopt_long(handle, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
        // A redirect never downgrades to plain HTTP.
        tradedesk_curl_setopt_long(handle, CURLOPT_REDIR_PROTOCOLS, Int(CURLPROTO_HTTPS))
        tradedesk_curl_setopt_string(handle, CURLOPT_USERAGENT, "tradedesk-stockbot/1")
        tradedesk_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        tradedesk_curl_setopt_writefn(handle) { data, size, count, context in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            // Quotes are a few hundred bytes: refuse to collect more than 64 KiB.
            guard sink.data.count + length <= 65_536 else { return 0 }
            sink.data.append(UnsafeRawPointer(data!).assumingMemoryBound(to: UInt8.self), count: length)
            return length
        }
        let result = curl_easy_perform(handle)
        guard result == CURLE_OK else {
            throw Failure(description: String(cString: curl_easy_strerror(result)))
        }
        var status = 0
        tradedesk_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard (200..<300).contains(status) else { throw Failure(description: "the quote server answered HTTP \(status)") }
        return String(decoding: sink.data, as: UTF8.self)
    }
}
