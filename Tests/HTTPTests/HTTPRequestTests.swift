@testable import HTTP
import Testing

struct HTTPRequestTests {
    @Test func parsesMethodPathQueryHeadersAndCookies() throws {
        let request = try HTTPRequest(params: [
            "REQUEST_METHOD": "POST",
            "REQUEST_URI": "/api/rooms/1/messages?after=10&wait=5",
            "QUERY_STRING": "after=10&wait=5",
            "CONTENT_TYPE": "application/json; charset=utf-8",
            "CONTENT_LENGTH": "12",
            "HTTP_AUTHORIZATION": "Bearer abc",
            "HTTP_X_FORWARDED_FOR": "10.0.0.1",
            "HTTP_COOKIE": "session=s1; theme=\"dark\"; session=second",
            "HTTPS": "on",
            "REMOTE_ADDR": "127.0.0.1",
        ], body: Array("{\"a\":1}".utf8))
        #expect(request.method == .post)
        #expect(request.rawPath == "/api/rooms/1/messages")
        #expect(request.pathSegments == ["api", "rooms", "1", "messages"])
        #expect(request.query == ["after": "10", "wait": "5"])
        #expect(request.header("Authorization") == "Bearer abc")
        #expect(request.header("x-forwarded-for") == "10.0.0.1")
        #expect(request.header("content-type") == "application/json; charset=utf-8")
        #expect(request.header("content-length") == "12")
        #expect(request.cookies == ["session": "s1", "theme": "dark"])
        #expect(request.isHTTPS)
        #expect(request.remoteAddress == "127.0.0.1")
    }

    @Test func decodesQueryStrings() throws {
        let query = try HTTPRequest.parseQuery("q=a+b%20c&empty=&flag&x=1&x=2&%C3%A9=%E2%82%AC")
        #expect(query == ["q": "a b c", "empty": "", "flag": "", "x": "1", "é": "€"])
    }

    @Test(arguments: ["a=%zz", "a=%4", "a=%ff%fe", "%=1"])
    func rejectsBrokenQueryEncoding(_ text: String) {
        #expect(throws: HTTPError(400, "the query string has an invalid percent-encoding")) {
            try HTTPRequest.parseQuery(text)
        }
    }

    @Test func rejectsBrokenPathEncoding() {
        #expect(throws: HTTPError(400, "the path has an invalid percent-encoding")) {
            try HTTPRequest(params: ["REQUEST_URI": "/api/rooms/%E0%A4/messages"])
        }
    }

    @Test func plusIsLiteralInPaths() throws {
        #expect(try HTTPRequest.segments(of: "/a+b/%2B") == ["a+b", "+"])
    }

    @Test func aMethodThatIsNotATokenIsRefused() {
        #expect(throws: HTTPError(.badRequest, "the method is not a valid token")) {
            try HTTPRequest(params: ["REQUEST_METHOD": "GE T", "REQUEST_URI": "/"])
        }
    }

    @Test func plainHTTPIsNotHTTPS() throws {
        #expect(try !HTTPRequest(params: ["REQUEST_URI": "/"]).isHTTPS)
        #expect(try HTTPRequest(params: ["REQUEST_URI": "/", "REQUEST_SCHEME": "https"]).isHTTPS)
    }

    @Test func cookieHeaderToleratesJunk() {
        #expect(HTTPRequest.parseCookies("; =x; a=1;b = 2 ;noval; c=\"\"") == ["a": "1", "b": "2", "c": ""])
    }
}

struct JSONBodyTests {
    struct Order: Decodable { let order: String; let price: Double; let tags: [String]? }

    private func request(_ body: String, type: String? = "application/json") throws -> HTTPRequest {
        var params = ["REQUEST_METHOD": "POST", "REQUEST_URI": "/api/orders"]
        params["CONTENT_TYPE"] = type
        return try HTTPRequest(params: params, body: Array(body.utf8))
    }

    @Test func decodesAValidBody() throws {
        let order = try request(#"{"order":"buy","price":1.5}"#, type: "Application/JSON; charset=utf-8").decodeJSON(Order.self)
        #expect(order.order == "buy")
        #expect(order.price == 1.5)
    }

    @Test(arguments: [
        (#"{"price":1}"#, "missing field 'order'"),
        (#"{"order":1,"price":1}"#, "field 'order' must be a string"),
        (#"{"order":"buy","price":"x"}"#, "field 'price' must be a number"),
        (#"{"order":null,"price":1}"#, "field 'order' must not be null"),
        (#"{"order":"buy","price":1,"tags":[1]}"#, "field 'tags[0]' must be a string"),
        (#"[1,2]"#, "the request body must be a JSON object"),
        (#"{"order":"#, "the request body is not valid JSON: unexpected end of file during JSON parse"),
        (#"{"order":"buy","price":1e999}"#, "the request body is not valid JSON: number 1e999 is out of range"),
        (#"{"order":NaN}"#, "the request body is not valid JSON: invalid value around character 9"),
        ("", "the request body is empty; a JSON object is required"),
        // What Foundation's parser takes but JSON does not: refused on every route, as on orders.
        (#"{"order":"sell","order":"buy","price":1}"#,
         #"the request body is not valid JSON: the key "order" appears twice in one object around character 16"#),
        (#"{"order":"buy","price":1,}"#, "the request body is not valid JSON: a comma before the end of an array or object around character 25"),
    ])
    func namesWhatIsWrong(body: String, message: String) throws {
        let request = try request(body)
        #expect(throws: HTTPError(400, message)) { try request.decodeJSON(Order.self) }
    }

    @Test func requiresAJSONContentType() throws {
        for type in [nil, "text/plain", "application/jsonx"] {
            let request = try request(#"{"order":"buy","price":1}"#, type: type)
            #expect(throws: HTTPError(415, "the body must be JSON: send Content-Type: application/json")) {
                try request.decodeJSON(Order.self)
            }
        }
    }

    @Test func anEmptyOptionalBodyIsNil() throws {
        #expect(try request("", type: nil).decodeJSONIfPresent(Order.self) == nil)
    }
}
