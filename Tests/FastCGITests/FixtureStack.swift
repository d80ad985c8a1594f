import TestSupport

/// The fixture responder (Tests/FastCGIFixture) behind a real nginx.
func startFixture(maxHeld: Int = 10_000, maxBodyBytes: Int = 1024, backlog: Int? = nil) throws -> ResponderStack {
    try ResponderStack(executable: Paths.product("fastcgi-fixture"),
                       environment: backlog.map { ["FCGI_BACKLOG": String($0)] } ?? [:]) { socket, _ in
        [socket, String(maxHeld), String(maxBodyBytes)]
    }
}

extension ResponderStack {
    /// Requests the fixture holds right now, from its health route.
    func heldCount() throws -> Int {
        try request("GET", "/api/health").json()["held"] as? Int ?? -1
    }
}
