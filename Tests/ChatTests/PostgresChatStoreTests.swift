import Chat
import Foundation
import JobQueue
import Postgres
import TestSupport
import Testing

/// What only PostgreSQL can get wrong: several connections write to one room at once.
struct PostgresChatStoreTests {
    /// Four posters, each with a store and connections of its own (as four responders), post into
    /// two rooms at once, in groups that span both rooms in either order, while a reader pages
    /// room 1 with `after=` as a client does. Ids are taken from one identity: without a lock per
    /// room, a post could commit a larger id before a smaller one is committed, and the reader,
    /// paging past it, would never see the smaller. With it, the reader sees every message once,
    /// in order; and the groups over two rooms never deadlock.
    @Test func aReaderPagingWhileFourConnectionsPostSeesEveryMessageOnceInOrder() throws {
        let fixture = try ChatOrderTests.Fixture(.postgres)
        defer { fixture.remove() }
        let url = try postgresURL(in: fixture.directory)
        let general: Int64 = 1
        let other = try fixture.stores().chat.createRoom(name: "other", by: "alice").id
        let posters = 4, groups = 150
        let stores = try (0...posters).map { _ in PostgresChatStore(database: try PostgresDatabase(url: url)) }
        let failures = Guarded<[String]>([])
        let finished = Guarded(0)
        let seen = Guarded<[Int64]>([])
        onThreads(posters + 1) { worker in
            do {
                if worker == posters {
                    // The reader: pages room 1 until every poster has finished and a page is empty.
                    var cursor: Int64 = 0
                    while true {
                        let done = finished.withLock { $0 } == posters
                        let page = try stores[worker].messages(roomID: general, after: cursor)
                        seen.withLock { $0 += page.map(\.id) }
                        cursor = page.last?.id ?? cursor
                        if done && page.isEmpty { break }
                    }
                } else {
                    for index in 1...groups {
                        let rooms = (index + worker).isMultiple(of: 2) ? [general, other] : [other, general]
                        _ = try stores[worker].post(rooms.map { .message(roomID: $0, author: "poster\(worker)", text: "\(worker):\(index)") })
                    }
                }
            } catch {
                failures.withLock { $0.append("\(worker): \(error)") }
            }
            if worker < posters { finished.withLock { $0 += 1 } }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let all = try ChatOrderTests.pageFromStart(stores[0], roomID: general).messages
        ChatOrderTests.expectOneOrder(all, count: posters * groups)
        let read = seen.withLock { $0 }
        #expect(read.count == all.count, "the reader saw \(read.count) of \(all.count)")
        #expect(read == all.map(\.id), "the reader saw every message once, in order")
        ChatOrderTests.expectOneOrder(try ChatOrderTests.pageFromStart(stores[0], roomID: other).messages, count: posters * groups)
    }
}
