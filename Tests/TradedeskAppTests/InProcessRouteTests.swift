import Foundation
import GRDB
import HTTPTesting
import Orders
import Testing

/// Handlers run through the real router, middleware and error adapter, in process (`TestClient`).
/// What needs nginx (its limits, TLS, the static page, client disconnects on a real socket) stays
/// in the nginx tests.
struct InProcessRouteTests {
    /// Authentication is a property of the route: this is every route, and exactly these need none.
    @Test func onlyHealthRegistrationAndLoginAndLogoutArePublic() async throws {
        let desk = try InProcessDesk()
        let routes = desk.router.routeList
        await desk.stop()
        let open = routes.filter { !$0.middleware.contains("Authenticated") && !$0.middleware.contains("SessionOrPassword") }
        #expect(open.map(\.description).sorted() == ["DELETE /api/session", "GET /api/health", "POST /api/session", "POST /api/users"])
        // Tokens are minted by a login or a password, never by a token.
        #expect(routes.filter { $0.middleware.contains("SessionOrPassword") }.map(\.description) == ["POST /api/tokens"])
        // Every unsafe public route checks where a browser request comes from.
        for route in open where route.method != .get {
            #expect(route.middleware == ["CrossSiteCheck"], "\(route)")
        }
        #expect(routes.count == 15, "\(routes)")
    }

    @Test func everyRouteButThePublicOnesAnswers401WithoutCredentials() async throws {
        let desk = try InProcessDesk()
        defer { Task { await desk.stop() } }
        for route in desk.router.routeList where route.middleware.contains("Authenticated") {
            let path = route.pattern.replacingOccurrences(of: "{id}", with: "1")
            let answer = try await desk.client.execute(route.method, path)
            #expect(answer.status == 401, "\(route): \(answer)")
            #expect(answer.header("WWW-Authenticate") == #"Bearer realm="tradedesk""#, "\(route)")
        }
    }

    @Test func aWrongPasswordIs401AndTheRightOneStartsASession() async throws {
        let desk = try InProcessDesk()
        defer { Task { await desk.stop() } }
        _ = try desk.user("alice")
        let wrong = try await desk.client.execute(.post, "/api/session", json: ["username": "alice", "password": "wrong horse battery"])
        #expect(wrong.status == 401)
        #expect(wrong.error == "invalid username or password")
        #expect(wrong.header("WWW-Authenticate") == #"Bearer realm="tradedesk""#)
        let unknown = try await desk.client.execute(.post, "/api/session", json: ["username": "nobody", "password": "wrong horse battery"])
        #expect(unknown.status == 401 && unknown.error == wrong.error, "an unknown name looks like a wrong password")

        let right = try await desk.client.execute(.post, "/api/session", json: ["username": "alice", "password": "correct horse battery"])
        #expect(right.status == 200, "\(right)")
        let cookie = try #require(right.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let whoAmI = try await desk.client.execute(.get, "/api/session", headers: ["Cookie": cookie])
        #expect(try whoAmI.json()["username"] as? String == "alice")
        // A cookie-authenticated change from another site is refused, once, by the middleware.
        let crossSite = try await desk.client.execute(.post, "/api/rooms", json: ["name": "x"],
                                                      headers: ["Cookie": cookie, "Sec-Fetch-Site": "cross-site"])
        #expect(crossSite.status == 403, "\(crossSite)")
        let loggedOut = try await desk.client.execute(.delete, "/api/session", headers: ["Cookie": cookie])
        #expect(loggedOut.status == 204)
        let ended = try await desk.client.execute(.get, "/api/session", headers: ["Cookie": cookie])
        #expect(ended.status == 401 && ended.error == "your session has ended; log in again")
        #expect(ended.header("Set-Cookie")?.contains("Max-Age=0") == true, "the browser forgets the cookie")
    }

    /// `POST /api/tokens` takes a password or a session, never a token; logging out clears the
    /// cookie even when the session had ended.
    @Test func theSpecialCasesOfTokensAndLogout() async throws {
        let desk = try InProcessDesk()
        defer { Task { await desk.stop() } }
        let alice = try desk.user("alice")
        let byToken = try await desk.client.execute(.post, "/api/tokens", headers: alice)
        #expect(byToken.status == 401 && byToken.error?.hasPrefix("log in, or send your username and password") == true, "\(byToken)")
        let basic = "Basic " + Data("alice:correct horse battery".utf8).base64EncodedString()
        let byPassword = try await desk.client.execute(.post, "/api/tokens", headers: ["Authorization": basic])
        #expect(byPassword.status == 201, "\(byPassword)")
        #expect((try byPassword.json()["token"] as? String)?.hasPrefix("tdk_") == true)
        let wrongPassword = try await desk.client.execute(
            .post, "/api/tokens", headers: ["Authorization": "Basic " + Data("alice:wrong horse".utf8).base64EncodedString()])
        #expect(wrongPassword.status == 401 && wrongPassword.error == "invalid username or password")

        let staleCookie = "tradedesk_session=1.bm9wZQ"
        let logout = try await desk.client.execute(.delete, "/api/session", headers: ["Cookie": staleCookie])
        #expect(logout.status == 204)
        #expect(logout.header("Set-Cookie") == "tradedesk_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
        let crossSiteLogout = try await desk.client.execute(.delete, "/api/session",
                                                            headers: ["Cookie": staleCookie, "Sec-Fetch-Site": "cross-site"])
        #expect(crossSiteLogout.status == 403)
        let overHTTPS = try await desk.client.execute(.delete, "/api/session", https: true)
        #expect(overHTTPS.header("Set-Cookie")?.hasPrefix("__Host-tradedesk_session=;") == true)
    }

    @Test func ordersAreHeldUntilTheBatchFills() async throws {
        var orders = OrdersConfiguration()
        orders.batchSize = 3
        let desk = try InProcessDesk(orders: orders)
        defer { Task { await desk.stop() } }
        let alice = try desk.user("alice")
        let first = desk.client.send(.post, "/api/orders", json: ["order": "buy", "price": 1.5], headers: alice)
        let second = desk.client.send(.post, "/api/orders", json: ["order": "sell", "price": 1.25], headers: alice)
        try await Task.sleep(for: .milliseconds(200))
        #expect(first.isHeld && second.isHeld, "two orders of a batch of three wait")
        let third = try await desk.client.execute(.post, "/api/orders", json: ["order": "buy", "price": 2], headers: alice)
        for answer in [try await first.response(), try await second.response(), third] {
            #expect(answer.status == 200, "\(answer)")
            #expect(try answer.json()["status"] as? String == "approved")
            #expect(try answer.json()["batch"] as? Int == 1)
        }
    }

    @Test func aLongPollIsAnsweredByAPost() async throws {
        let desk = try InProcessDesk()
        defer { Task { await desk.stop() } }
        let alice = try desk.user("alice")
        let room = try await desk.client.execute(.post, "/api/rooms", json: ["name": "in process"], headers: alice)
        let id = try #require(try room.json()["id"] as? Int, "\(room)")
        let poll = desk.client.send(.get, "/api/rooms/\(id)/messages?after=0&wait=10", headers: alice)
        #expect(poll.isHeld)
        let posted = try await desk.client.execute(.post, "/api/rooms/\(id)/messages", json: ["text": "hello"], headers: alice)
        #expect(posted.status == 201, "\(posted)")
        let answer = try await poll.response(timeout: .seconds(5))
        #expect(answer.status == 200)
        let messages = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]])
        #expect(messages.compactMap { $0["text"] as? String } == ["hello"])
        // A long-poll whose client leaves is forgotten.
        let left = desk.client.send(.get, "/api/rooms/\(id)/messages?after=1&wait=10", headers: alice)
        #expect(desk.chat.waiting == 1)
        left.clientGone()
        #expect(desk.chat.waiting == 0)
    }

    @Test func domainErrorsGetTheirStatusFromTheAdapter() async throws {
        let desk = try InProcessDesk()
        defer { Task { await desk.stop() } }
        let alice = try desk.user("alice")
        let noRoom = try await desk.client.execute(.get, "/api/rooms/99/messages", headers: alice)
        #expect(noRoom.status == 404 && noRoom.error == "no such room")
        let noOrder = try await desk.client.execute(.get, "/api/orders/99", headers: alice)
        #expect(noOrder.status == 404 && noOrder.error == "no such order")
        let closed = try await desk.client.execute(.post, "/api/users", json: ["username": "bob", "password": "correct horse battery"])
        #expect(closed.status == 403 && closed.error?.contains("registration is closed") == true)
        let badToken = try await desk.client.execute(.get, "/api/orders", headers: ["Authorization": "Bearer tdk_1_nope"])
        #expect(badToken.status == 401 && badToken.header("WWW-Authenticate")?.contains("invalid_token") == true)
    }

    /// A stored order the code cannot read (a side it does not know, written behind its back) is
    /// an error, never shown as a buy.
    @Test func anUnreadableStoredOrderIsAnErrorNotABuy() async throws {
        var orders = OrdersConfiguration()
        orders.batchSize = 1
        let desk = try InProcessDesk(orders: orders)
        defer { Task { await desk.stop() } }
        let alice = try desk.user("alice")
        let placed = try await desk.client.execute(.post, "/api/orders", json: ["order": "sell", "price": 1.5], headers: alice)
        let id = try #require(try placed.json()["id"] as? Int)
        try await DatabaseQueue(path: desk.directory.file("db.sqlite")).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE trade_order SET side = 'hold' WHERE id = ?", arguments: [id])
        }
        for path in ["/api/orders/\(id)", "/api/orders"] {
            // Once its outcome is written, the order is read from the history, not from memory.
            var answer = try await desk.client.execute(.get, path, headers: alice)
            for _ in 0..<100 where answer.status == 200 {
                try await Task.sleep(for: .milliseconds(20))
                answer = try await desk.client.execute(.get, path, headers: alice)
            }
            #expect(answer.status >= 500 && answer.error != nil, "\(path): \(answer)")
            #expect(!String(decoding: answer.body, as: UTF8.self).contains(#""buy""#), "\(path)")
        }
    }
}
