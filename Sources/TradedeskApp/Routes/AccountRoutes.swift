import Accounts
import Foundation
import HTTP

/// `/api/users`, `/api/session` and `/api/tokens`.
enum AccountRoutes {
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

    static func register(in router: inout Router, accounts: AccountService) {
        // Public: no session yet, so every browser request must come from this site.
        router.group(CrossSiteCheck(scope: .always)) { routes in
            routes.post("/api/users") { request, _ in
                guard accounts.configuration.registrationOpen else { throw AccountsError.registrationClosed }
                let body = try request.decodeJSON(Credentials.self)
                try CredentialRules.checkUsername(body.username)
                try CredentialRules.checkPassword(body.password)
                if CredentialRules.isReserved(body.username) { throw AccountsError.usernameReserved(body.username) }
                // Known names are refused before any hashing; the insert below catches a race.
                if try accounts.store.user(named: body.username) != nil { throw AccountsError.usernameTaken(body.username) }
                let pending = try request.hold()
                accounts.hashPassword(body.password) { hash in
                    do {
                        let user = try accounts.store.createUser(username: body.username, passwordHash: try hash.get())
                        accounts.logger.notice("user registered", metadata: ["username": "\(user.username)"])
                        pending.respond(.json(UserBody(username: user.username), status: .created))
                    } catch AccountStoreError.usernameTaken {
                        pending.respond(AccountsError.usernameTaken(body.username))
                    } catch {
                        pending.respond(error)
                    }
                }
                return nil
            }

            routes.post("/api/session") { request, _ in
                let body = try request.decodeJSON(Credentials.self)
                let pending = try request.hold()
                accounts.checkPassword(username: body.username, password: body.password, address: request.remoteAddress) { user in
                    do {
                        let session = try accounts.startSession(userID: try user.get().id!)
                        pending.respond(.json(UserBody(username: try user.get().username),
                                              headers: [.setCookie: SessionCookie.set(session, secure: request.isHTTPS)]))
                    } catch {
                        pending.respond(error)
                    }
                }
                return nil
            }
        }

        router.group(Authenticated(accounts: accounts)) { routes in
            routes.get("/api/session") { _, identity in
                .json(UserBody(username: identity.username))
            }
        }

        // Public: logging out always clears the cookie, even when the session had already ended.
        router.group(CrossSiteCheck(scope: .withSessionCookie)) { routes in
            routes.delete("/api/session") { request, _ in
                if let cookie = SessionCookie.value(in: request),
                   let identity = try? accounts.identity(sessionCookie: cookie), case .session(let id) = identity.credential {
                    try accounts.endSession(id: id)
                }
                return .noContent(headers: [.setCookie: SessionCookie.cleared(secure: request.isHTTPS)])
            }
        }

        router.group(SessionOrPassword(accounts: accounts)) { routes in
            routes.post("/api/tokens") { request, credentials in
                let name = try tokenName(request)
                let create: @Sendable (Int64) throws -> HTTPResponse = { userID in
                    do {
                        let (token, secret) = try accounts.store.createToken(userID: userID, name: name,
                                                                             limit: accounts.configuration.maxTokensPerUser)
                        return .json(TokenBody(token, secret: secret), status: .created)
                    } catch AccountStoreError.tooManyTokens(let limit) {
                        throw AccountsError.tooManyTokens(limit: limit)
                    }
                }
                switch credentials {
                case .session(let identity):
                    return try create(identity.userID)
                case .password(let username, let password):
                    let pending = try request.hold()
                    accounts.checkPassword(username: username, password: password, address: request.remoteAddress) { user in
                        do { pending.respond(try create(try user.get().id!)) } catch { pending.respond(error) }
                    }
                    return nil
                }
            }
        }

        router.group(Authenticated(accounts: accounts)) { routes in
            routes.get("/api/tokens") { _, identity in
                .json(try accounts.store.tokens(userID: identity.userID).map { TokenBody($0) })
            }

            routes.delete("/api/tokens/{id}") { request, identity in
                guard let id = request.pathParameter("id").flatMap(Int64.init),
                      try accounts.revokeToken(id: id, userID: identity.userID)
                else { throw AccountsError.noSuchToken }
                return .noContent()
            }
        }
    }

    /// A token's name: optional, 1–64 characters after trimming.
    static func tokenName(_ request: HTTPRequest) throws(HTTPError) -> String {
        guard let body = try request.decodeJSONIfPresent(NewTokenBody.self), let raw = body.name else { return "api token" }
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...64).contains(name.unicodeScalars.count) else { throw .badRequest("field 'name' must be 1 to 64 characters") }
        return name
    }
}
