import Foundation

extension ResponderStack {
    public static let testPassword = "correct horse battery"

    /// Registers a user through the API (the responder must run with REGISTRATION=open).
    public func register(_ username: String, password: String = testPassword) throws {
        let answer = try json("POST", "/api/users", ["username": username, "password": password])
        guard answer.status == 201 else { throw TestFailure("register \(username): \(answer)") }
    }

    /// Logs in and returns the `Cookie` header value for the session.
    public func login(_ username: String, password: String = testPassword) throws -> String {
        let answer = try json("POST", "/api/session", ["username": username, "password": password])
        guard answer.status == 200, let cookie = answer.sessionCookie else { throw TestFailure("login \(username): \(answer)") }
        return cookie
    }

    /// Creates an API token with `curl -u` style Basic credentials and returns it.
    public func createToken(_ username: String, password: String = testPassword) throws -> String {
        let answer = try request("POST", "/api/tokens", headers: ["Authorization": basicAuthorization(username, password)])
        guard answer.status == 201, let token = try answer.json()["token"] as? String else {
            throw TestFailure("token for \(username): \(answer)")
        }
        return token
    }
}

public func basicAuthorization(_ username: String, _ password: String) -> String {
    "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
}

extension HTTPResult {
    /// `tradedesk_session=...` from `Set-Cookie`, ready to send back as a `Cookie` header.
    public var sessionCookie: String? {
        header("set-cookie")?.split(separator: ";").first.map(String.init)
    }
}
