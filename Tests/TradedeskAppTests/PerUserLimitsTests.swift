import Foundation
import Testing
import TestSupport

/// What one user may take of the desk, through the real nginx in front of `tradedesk`: held
/// requests, orders, rooms, and a room list that comes in pages. Past a limit that user hears 429
/// with `Retry-After`, and everyone else is served as before.
@Suite(.serialized)
struct PerUserLimitsTests {
    struct Desk {
        let stack: ResponderStack
        let alice: [String: String]
        let bob: [String: String]

        init(_ environment: [String: String]) throws {
            stack = try ResponderStack.tradedesk(environment: ["REGISTRATION": "open"].merging(environment) { $1 })
            try stack.register("alice")
            try stack.register("bob")
            alice = ["Authorization": "Bearer \(try stack.createToken("alice"))", "Content-Type": "application/json"]
            bob = ["Authorization": "Bearer \(try stack.createToken("bob"))", "Content-Type": "application/json"]
        }

        func order(as user: [String: String]) throws -> HTTPConnection {
            try stack.open("POST", "/api/orders", headers: user, body: Array(#"{"order":"buy","price":1.5}"#.utf8))
        }

        func longPoll(as user: [String: String]) throws -> HTTPConnection {
            try stack.open("GET", "/api/rooms/1/messages?after=1000000&wait=30", headers: user)
        }

        func held() throws -> Int { try stack.request("GET", "/api/health").json()["held_requests"] as? Int ?? -1 }
    }

    @Test func oneUserCannotTakeEveryHeldPlace() throws {
        let desk = try Desk(["MAX_HELD_PER_USER": "5", "BATCH_SIZE": "100"])
        defer { desk.stack.stop() }
        var alices = try (0..<3).map { _ in try desk.longPoll(as: desk.alice) } + (0..<2).map { _ in try desk.order(as: desk.alice) }
        #expect(try eventually { try desk.held() == 5 })

        for refused in [try desk.longPoll(as: desk.alice), try desk.order(as: desk.alice)] {
            let answer = try refused.readResult()
            #expect(answer.status == 429)
            #expect(answer.header("retry-after") == "1")
            #expect(try answer.json()["error"] as? String == "you have 5 requests waiting, the most one user may; retry when one is answered")
        }

        // Everyone else is held as usual.
        let bobs = [try desk.longPoll(as: desk.bob), try desk.order(as: desk.bob)]
        #expect(try eventually { try desk.held() == 7 })
        #expect(bobs.allSatisfy { !$0.hasAnswer(within: .milliseconds(200)) })

        // A place comes back when a held request ends, however it ends: a client that leaves...
        alices.removeLast().close()
        #expect(try eventually { try desk.held() == 6 })
        alices.append(try desk.order(as: desk.alice))
        #expect(try eventually { try desk.held() == 7 })
        #expect(!alices.last!.hasAnswer(within: .milliseconds(200)))
        // ...or an answer: Bob's post answers every long-poll in the room.
        let post = try desk.stack.request("POST", "/api/rooms/1/messages", headers: desk.bob, body: Array(#"{"text":"hi"}"#.utf8))
        #expect(post.status == 201)
        for connection in alices.prefix(3) + bobs.prefix(1) { #expect(try connection.readResult().status == 200) }
        let again = try desk.longPoll(as: desk.alice)
        #expect(!again.hasAnswer(within: .milliseconds(300)), "Alice holds 3 of 5 now")
    }

    @Test func ordersAndRoomsHaveARatePerUser() throws {
        let desk = try Desk(["BATCH_SIZE": "1", "ORDER_BURST": "3", "ORDER_RATE": "0.01", "ROOM_BURST": "2", "ROOM_RATE": "0.01"])
        defer { desk.stack.stop() }
        for _ in 0..<3 { #expect(try desk.order(as: desk.alice).readResult().status == 200) }
        let tooMany = try desk.order(as: desk.alice).readResult()
        #expect(tooMany.status == 429)
        #expect(try (tooMany.json()["error"] as? String)?.hasPrefix("too many orders; retry in ") == true)
        #expect(Int(tooMany.header("retry-after") ?? "") ?? 0 > 0)
        #expect(try desk.order(as: desk.bob).readResult().status == 200)

        for name in ["one", "two"] {
            #expect(try desk.stack.json("POST", "/api/rooms", ["name": name], headers: desk.alice).status == 201)
        }
        let room = try desk.stack.json("POST", "/api/rooms", ["name": "three"], headers: desk.alice)
        #expect(room.status == 429)
        #expect(try (room.json()["error"] as? String)?.hasPrefix("too many rooms created; retry in ") == true)
        #expect(try desk.stack.json("POST", "/api/rooms", ["name": "bobs"], headers: desk.bob).status == 201)
    }

    @Test func theRoomListComesInPages() throws {
        let desk = try Desk(["ROOM_BURST": "100"])
        defer { desk.stack.stop() }
        for index in 2...6 {
            #expect(try desk.stack.json("POST", "/api/rooms", ["name": "room \(index)"], headers: desk.alice).status == 201)
        }
        func ids(_ query: String) throws -> [Int] {
            let answer = try desk.stack.request("GET", "/api/rooms\(query)", headers: desk.alice)
            let rooms = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]], "\(answer)")
            return rooms.compactMap { $0["id"] as? Int }
        }
        #expect(try ids("") == [1, 2, 3, 4, 5, 6])
        #expect(try ids("?limit=2") == [1, 2])
        #expect(try ids("?after=2&limit=2") == [3, 4])
        #expect(try ids("?after=4&limit=2") == [5, 6])
        #expect(try ids("?after=6") == [])
        for (query, message) in [("?limit=0", "query 'limit' must be a whole number from 1 to 500"),
                                 ("?limit=501", "query 'limit' must be a whole number from 1 to 500"),
                                 ("?after=-1", "query 'after' must be a whole number from 0")] {
            let answer = try desk.stack.request("GET", "/api/rooms\(query)", headers: desk.alice)
            #expect(answer.status == 400)
            #expect(try answer.json()["error"] as? String == message)
        }
    }
}
