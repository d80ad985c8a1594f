@testable import FastCGI
import HTTPTypes
import Testing

struct ListenAddressTests {
    @Test func parsesEveryForm() throws {
        #expect(try ListenAddress(parsing: "unix:/run/x.sock") == .unix(path: "/run/x.sock"))
        #expect(try ListenAddress(parsing: "/run/x.sock") == .unix(path: "/run/x.sock"))
        #expect(try ListenAddress(parsing: "127.0.0.1:9000") == .tcp(host: "127.0.0.1", port: 9000))
        #expect(try ListenAddress(parsing: "[::1]:9000") == .tcp(host: "::1", port: 9000))
        #expect(try ListenAddress(parsing: ":9000") == .tcp(host: "127.0.0.1", port: 9000))
        #expect(try ListenAddress(parsing: "inherit") == .inherited)
        #expect(ListenAddress.tcp(host: "::1", port: 9000).description == "[::1]:9000")
    }

    @Test(arguments: ["", "localhost", "host:0", "host:99999", "host:port"])
    func rejectsNonsense(_ text: String) {
        #expect(throws: FastCGIError.self) { try ListenAddress(parsing: text) }
    }
}

struct ResponseSerializationTests {
    @Test func writesStatusHeadersLengthAndBody() {
        let response = FastCGIResponse(status: .created, headers: [.contentType: "application/json"], body: Array("{}".utf8))
        #expect(String(decoding: response.serialized(), as: UTF8.self)
            == "Status: 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func headerValuesCannotStartHeadersOfTheirOwn() {
        let response = FastCGIResponse(status: .ok, headers: [HTTPField.Name("X-Name")!: "a\r\nSet-Cookie: evil=1"])
        let text = String(decoding: response.serialized(), as: UTF8.self)
        #expect(text.contains("X-Name: a  Set-Cookie: evil=1\r\n"), "HTTPFields turns CR and LF into spaces")
        #expect(!text.contains("\r\nSet-Cookie"))
    }
}
