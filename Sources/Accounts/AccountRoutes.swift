import Foundation
import HTTP

/// `/api/users`, `/api/session` and `/api/tokens`.
public enum AccountRoutes {
    struct Credentials: Decodable, Sendable {
        let username: String
        let password: String
    }

    struct UserBody: Encodable {
        let username: String
    }

    struct NewTokenBody: Decodable {
        let name: String?
    }

    struct TokenBody: Encodable {
        let id: Int64
        let name: String
        let token: String?
        let createdAt: String
        let lastUsedAt: String?

        enum CodingKeys: String, CodingKey {
            case id, name, token
            case createdAt = "created_at"
            case lastUsedAt = "last_used_at"
        }

        init(_ token: APIToken, secret: String? = nil) {
            id = token.id!
            name = token.name
            self.token = secret
            createdAt = token.createdAt.apiTimestamp
            lastUsedAt = token.lastUsedAt?.apiTimestamp
        }
    }

    public static func register(in router: inout Router, accounts: AccountService) {
        router.post("/api/users") { request in
            guard accounts.configuration.registrationOpen else {
                throw HTTPError(403, "registration is closed on this server; ask an operator for an account")
            }
            try CrossSiteCheck.reject(request)
            let body = try request.decodeJSON(Credentials.self)
            try CredentialRules.checkUsername(body.username)
            try CredentialRules.checkPassword(body.password)
            if CredentialRules.isReserved(body.username) {
                throw HTTPError(409, "username '\(body.username)' is reserved")
            }
            // Known names are refused before any hashing; the insert below catches a race.
            if try accounts.store.user(named: body.username) != nil { throw usernameTaken(body.username) }
            return try accounts.hashPassword(request, body.password) { hash in
                do {
                    let user = try accounts.store.createUser(username: body.username, passwordHash: hash)
                    accounts.logger.notice("user registered", metadata: ["username": "\(user.username)"])
                    return .json(UserBody(username: user.username), status: 201)
                } catch AccountStoreError.usernameTaken {
                    throw usernameTaken(body.username)
                }
            }
        }

        router.post("/api/session") { request in
            try CrossSiteCheck.reject(request)
            let body = try request.decodeJSON(Credentials.self)
            return try accounts.checkPassword(request, username: body.username, password: body.password) { user in
                let cookie = try accounts.startSession(userID: user.id!, secure: request.isHTTPS)
                return .json(UserBody(username: user.username), headers: [("Set-Cookie", cookie)])
            }
        }

        router.get("/api/session") { request in
            .json(UserBody(username: try accounts.authenticate(request).username))
        }

        router.delete("/api/session") { request in
            // Logging out always clears the cookie, even when the session had already ended.
            if request.cookies[AccountService.sessionCookie(secure: request.isHTTPS)] != nil { try CrossSiteCheck.reject(request) }
            if let identity = try? accounts.sessionIdentity(request), case .session(let id) = identity.credential {
                try accounts.endSession(id: id)
            }
            return .noContent(headers: [("Set-Cookie", AccountService.clearedCookie(secure: request.isHTTPS))])
        }

        router.post("/api/tokens") { request in
            let name = try tokenName(request)
            let create: @Sendable (Int64) throws -> HTTPResponse = { userID in
                do {
                    let (token, secret) = try accounts.store.createToken(userID: userID, name: name,
                                                                         limit: accounts.configuration.maxTokensPerUser)
                    return .json(TokenBody(token, secret: secret), status: 201)
                } catch AccountStoreError.tooManyTokens(let limit) {
                    throw HTTPError(409, "you hold \(limit) tokens, the most a user may; revoke one first (DELETE /api/tokens/{id})")
                }
            }
            // A curl user gets a token in one line with -u name:password.
            if let (username, password) = basicCredentials(request) {
                return try accounts.checkPassword(request, username: username, password: password) { try create($0.id!) }
            }
            // Only a login (or a password) may mint tokens: a token cannot make more of itself.
            guard let identity = try accounts.sessionIdentity(request) else {
                throw HTTPError(401, "log in, or send your username and password (curl -u name:password)",
                                headers: [AccountService.challenge])
            }
            try CrossSiteCheck.reject(request)
            return try create(identity.userID)
        }

        router.get("/api/tokens") { request in
            let identity = try accounts.authenticate(request)
            return .json(try accounts.store.tokens(userID: identity.userID).map { TokenBody($0) })
        }

        router.delete("/api/tokens/{id}") { request in
            let identity = try accounts.authenticate(request)
            guard let id = request.pathParameter("id").flatMap(Int64.init),
                  try accounts.revokeToken(id: id, userID: identity.userID)
            else { throw HTTPError.notFound("no such token") }
            return .noContent()
        }
    }

    static func usernameTaken(_ name: String) -> HTTPError {
        HTTPError(409, "username '\(name)' is taken")
    }

    /// A token's name: optional, 1–64 characters after trimming.
    static func tokenName(_ request: HTTPRequest) throws(HTTPError) -> String {
        guard let body = try request.decodeJSONIfPresent(NewTokenBody.self), let raw = body.name else { return "api token" }
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...64).contains(name.unicodeScalars.count) else { throw .badRequest("field 'name' must be 1 to 64 characters") }
        return name
    }

    /// `Authorization: Basic base64(username:password)`.
    static func basicCredentials(_ request: HTTPRequest) -> (String, String)? {
        guard let header = request.header("authorization"), header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: header.dropFirst(6).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
