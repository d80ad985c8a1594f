@testable import Accounts
import Foundation
import HTTP
import Logging
import Storage
import Testing
@testable import TradedeskApp

struct SessionCookieTests {
    @Test func theCookieIsHttpOnlyStrictAndSecureOnlyOverHTTPS() throws {
        let directory = NSTemporaryDirectory() + "cookie-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let service = AccountService(store: try Stores.sqlite(path: directory + "/db.sqlite").accounts,
                                     configuration: AccountsConfiguration(), logger: Logger(label: "test"))
        let user = try service.store.createUser(username: "alice", passwordHash: "x")
        let overHTTPS = SessionCookie.set(try service.startSession(userID: user.id!), secure: true)
        let overHTTP = SessionCookie.set(try service.startSession(userID: user.id!), secure: false)
        #expect(overHTTPS.hasPrefix("__Host-tradedesk_session="), "only a secure origin may set it, for this host only")
        #expect(overHTTP.hasPrefix("tradedesk_session="))
        for cookie in [overHTTPS, overHTTP] {
            #expect(cookie.contains("; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800"))
        }
        #expect(overHTTPS.hasSuffix("; Secure"))
        #expect(!overHTTP.contains("Secure"))
    }
}

struct CrossSiteCheckTests {
    private func request(_ headers: [String: String]) throws -> HTTPRequest {
        // Debian's fastcgi_params passes the host without its port.
        var params = ["REQUEST_METHOD": "POST", "REQUEST_URI": "/api/tokens", "HTTP_HOST": "desk.example"]
        for (name, value) in headers { params["HTTP_" + name.uppercased().replacingOccurrences(of: "-", with: "_")] = value }
        return try HTTPRequest(params: params)
    }

    @Test func allowsSameOriginAndNonBrowserRequests() throws {
        try CrossSiteCheck.reject(request([:]))
        try CrossSiteCheck.reject(request(["Origin": "http://desk.example:8080", "Sec-Fetch-Site": "same-origin"]))
        try CrossSiteCheck.reject(request(["Origin": "https://DESK.example"]))
    }

    @Test func hostNamesDropPortsAndKeepIPv6Brackets() {
        #expect(CrossSiteCheck.hostName("Example.com:8080") == "example.com")
        #expect(CrossSiteCheck.hostName("[::1]:8080") == "[::1]")
        #expect(CrossSiteCheck.hostName("127.0.0.1") == "127.0.0.1")
    }

    @Test(arguments: [["Origin": "http://evil.example"], ["Sec-Fetch-Site": "cross-site"], ["Sec-Fetch-Site": "same-site"],
                      ["Origin": "http://desk.example.evil.example"], ["Origin": "http://evil.example/desk.example"], ["Origin": "null"]])
    func refusesOtherSites(_ headers: [String: String]) throws {
        let request = try request(headers)
        #expect(throws: HTTPError.self) { try CrossSiteCheck.reject(request) }
        #expect(throws: HTTPError.self) { try CrossSiteCheck(scope: .always).prepare(request) }
    }
}
