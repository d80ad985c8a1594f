import Foundation
import HTTP
import TradedeskApp

// One input is a request written like HTTP/1.1 and turned into the FastCGI params nginx would send:
//
//     POST /api/rooms/1/messages?after=10
//     Content-Type: application/json
//     Cookie: session=abc; theme="dark"
//     $HTTPS: on
//
//     {"text":"hi"}
//
// The first line is the method and the URI (REQUEST_URI; QUERY_STRING is what follows its `?`, as
// nginx's $query_string). `Name: value` lines become HTTP_NAME params (CONTENT_TYPE and CONTENT_LENGTH
// too for those two headers); `$PARAM: value` sets a param as is and `$PARAM` alone removes it (say
// `$QUERY_STRING`, to make the request take the query from REQUEST_URI). The body follows the first
// blank line. Like the FastCGI core, params are cut at a NUL and decoded as UTF-8 with repairs.
//
// Each input is parsed into an HTTPRequest, routed with the application's routes, and its body
// read with JSONReader and decoded as JSON (as the order route's own OrderRequest, and as a nested synthesized type); every error is turned into the JSON answer the application would send, which must
// read back as {"error": message}. Thrown errors are expected; crashes, ASan reports and hangs are
// findings, and so is an answer that is not that JSON.

/// The application's routes (TradedeskApp, Orders, Chat, Accounts).
let router: Router = {
    var router = Router()
    let handler: RouteHandler = { _ in nil }
    router.get("/api/health", handler)
    router.post("/api/orders", handler)
    router.get("/api/orders/{id}", handler)
    router.get("/api/orders", handler)
    router.get("/api/rooms", handler)
    router.post("/api/rooms", handler)
    router.get("/api/rooms/{id}/messages", handler)
    router.post("/api/rooms/{id}/messages", handler)
    router.post("/api/users", handler)
    router.post("/api/session", handler)
    router.get("/api/session", handler)
    router.delete("/api/session", handler)
    router.post("/api/tokens", handler)
    router.get("/api/tokens", handler)
    router.delete("/api/tokens/{id}", handler)
    return router
}()

/// A plain synthesized Decodable, whose errors name nested fields.
struct SideAndPrice: Decodable {
    struct Limits: Decodable {
        let low: Int
        let high: Double?
    }
    let side: String
    let price: String
    let limits: [Limits]?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (params, body) = fastCGIParams(UnsafeBufferPointer(start: data, count: size))
    let request: HTTPRequest
    do {
        request = try HTTPRequest(params: params, body: body)
    } catch {
        check(error)
        return 0
    }
    _ = request.cookies["session"]
    _ = request.header("Authorization")

    // What HTTPApplication answers for a path without a route, or with another method.
    switch router.resolve(method: request.method, segments: request.pathSegments) {
    case .notFound:
        check(.notFound("no route for \(request.method.rawValue) \(request.rawPath)"))
    case .methodNotAllowed(let allowed):
        guard !allowed.isEmpty, !allowed.contains(request.method) else {
            fatalError("405 for \(request.method) with Allow: \(allowed)")
        }
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        check(HTTPError(.methodNotAllowed, "method \(request.method.rawValue) is not allowed here; use \(list)", headers: [.allow: list]))
    case .found(_, let parameters):
        for (name, value) in parameters where value.isEmpty || !request.pathSegments.contains(value) {
            fatalError("path parameter \(name)=\(value) is not a segment of \(request.pathSegments)")
        }
    }

    // The reader on every body, whatever its content type: a value, or a failure inside the body.
    do { _ = try JSONReader.read(body) } catch {
        guard (0...body.count).contains(error.offset) else { fatalError("failure at \(error.offset) of \(body.count) bytes: \(error)") }
    }
    do { _ = try OrderRoutes.OrderRequest(request) } catch { check(error) }
    do { _ = try request.decodeJSONIfPresent(SideAndPrice.self) } catch { check(error) }
    return 0
}

/// The answer an error becomes must be exactly `{"error": message}` as JSON.
func check(_ error: HTTPError) {
    let response = error.response
    guard response.status == error.status else { fatalError("status \(response.status) for \(error.status)") }
    let decoded = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String]
    guard decoded == ["error": error.message] else {
        fatalError("the answer \(String(decoding: response.body, as: UTF8.self)) does not read back as the message \(error.message.debugDescription)")
    }
}

/// The params and body an input stands for (see the top of this file).
func fastCGIParams(_ input: UnsafeBufferPointer<UInt8>) -> (params: [String: String], body: [UInt8]) {
    let newline = UInt8(ascii: "\n")
    var lines: [ArraySlice<UInt8>] = []
    var body: [UInt8] = []
    var start = input.startIndex
    while start < input.endIndex {
        let end = input[start...].firstIndex(of: newline) ?? input.endIndex
        var line = ArraySlice(input[start..<end])
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        start = end == input.endIndex ? end : end + 1
        if line.isEmpty, !lines.isEmpty {
            body = Array(input[start...])
            break
        }
        lines.append(line)
    }

    var params: [String: String] = [:]
    guard let requestLine = lines.first else { return (params, body) }
    if let space = requestLine.firstIndex(of: UInt8(ascii: " ")) {
        params["REQUEST_METHOD"] = text(requestLine[..<space])
        let uri = text(requestLine[(space + 1)...])
        params["REQUEST_URI"] = uri
        params["QUERY_STRING"] = uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } ?? ""
    } else {
        params["REQUEST_METHOD"] = text(requestLine)
    }
    for line in lines.dropFirst() {
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        var name = text(line[..<(colon ?? line.endIndex)])
        var value = colon.map { text(line[($0 + 1)...]) }
        if value?.first == " " { value?.removeFirst() }
        if name.first == "$" {
            name.removeFirst()
            params[name] = value
            continue
        }
        // nginx: upper case, `-` as `_`.
        name = String(name.uppercased().map { $0 == "-" ? "_" : $0 })
        params["HTTP_" + name] = value ?? ""
        if name == "CONTENT_TYPE" || name == "CONTENT_LENGTH" { params[name] = value ?? "" }
    }
    return (params, body)
}

/// What the FastCGI core makes of a param's bytes: up to a NUL (it reads C strings), UTF-8 with repairs.
func text(_ bytes: ArraySlice<UInt8>) -> String {
    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
}
