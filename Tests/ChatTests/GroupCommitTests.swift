import Chat
import Foundation
import JobQueue
import Logging
import Storage
import TestSupport
import Testing

/// Posts that arrive together share one transaction (`ChatService.submit`), on a real database of each backend.
/// A gate in front of the store holds the committer inside a commit, so that the posts submitted
/// meanwhile are queued and make the next group, as they do while a commit syncs to the disk.
@Suite(.serialized)
struct GroupCommitTests {
    /// The real store, with a gate: the first `post(_:)` waits until the test opens it, and each
    /// call's size is recorded (one call is one transaction). `fault` makes the next calls throw
    /// it, as a full disk does, before anything is written.
    final class GatedStore: ChatStore, Sendable {
        let store: any ChatStore
        private let gate = DispatchSemaphore(value: 0)
        private let state = Guarded((closed: true, groups: [[NewPost]](), fault: StorageFault?.none))
        let entered = DispatchSemaphore(value: 0)

        init(_ store: any ChatStore) { self.store = store }

        var groups: [[NewPost]] { state.withLock { $0.groups } }
        func open() { state.withLock { $0.closed = false }; gate.signal() }
        func fail(with fault: StorageFault?) { state.withLock { $0.fault = fault } }

        func post(_ batch: [NewPost]) throws -> [Posted] {
            let closed = state.withLock { state in
                state.groups.append(batch)
                return state.closed
            }
            if closed {
                entered.signal()
                gate.wait()
            }
            if let fault = state.withLock({ $0.fault }) { throw fault }
            return try store.post(batch)
        }

        func rooms(after: Int64, limit: Int) throws -> [Room] { try store.rooms(after: after, limit: limit) }
        func room(id: Int64) throws -> Room? { try store.room(id: id) }
        func createRoom(name: String, by username: String) throws -> Room { try store.createRoom(name: name, by: username) }
        func lastMessages(roomID: Int64) throws -> [Message] { try store.lastMessages(roomID: roomID) }
        func messages(roomID: Int64, after afterID: Int64) throws -> [Message] { try store.messages(roomID: roomID, after: afterID) }
        func deliver(_ jobs: [Job]) throws -> [Message] { try store.deliver(jobs) }
    }

    /// A chat service on a fresh file, its store gated; every answer lands in `answers` by text.
    final class Fixture: Sendable {
        let fixture: ChatOrderTests.Fixture
        let gated: GatedStore
        let chat: ChatService
        let answers = Guarded<[String: Result<Posted, any Error>]>([:])
        private let answered = DispatchSemaphore(value: 0)

        init(_ backend: TestBackend, queueLimit: Int = 4096) throws {
            fixture = try ChatOrderTests.Fixture(backend)
            let (store, jobs) = try fixture.stores()
            gated = GatedStore(store)
            var configuration = ChatConfiguration()
            configuration.maxQueuedPosts = queueLimit
            chat = try ChatService(store: gated, queue: jobs, configuration: configuration, logger: Logger(label: "test"))
            chat.start()
        }

        /// Submits a message whose text names it.
        func post(_ text: String, room: Int64 = 1) throws(ChatError) {
            try chat.submit(.message(roomID: room, author: "alice", text: text)) { [answers, answered] result in
                answers.withLock { $0[text] = result }
                answered.signal()
            }
        }

        /// Waits (generously) for `count` answers.
        func awaitAnswers(_ count: Int) -> Bool {
            (0..<count).allSatisfy { _ in answered.wait(timeout: .now() + 30) == .success }
        }

        func answer(_ text: String) -> Result<Posted, any Error>? { answers.withLock { $0[text] } }

        func stored() throws -> [String] { try gated.store.lastMessages(roomID: 1).map(\.text) }

        func remove() {
            chat.shutdown()
            fixture.remove()
        }
    }

    /// The first post holds the committer; five more are queued meanwhile and committed as one group.
    static func holdTheCommitterAndQueue(_ desk: Fixture, _ texts: [String]) throws {
        try desk.post("first")
        #expect(desk.gated.entered.wait(timeout: .now() + 30) == .success, "the committer took the first post")
        for text in texts { try desk.post(text) }
    }

    @Test(arguments: TestBackend.all) func postsQueuedDuringACommitAreTheNextGroupInTheirOrder(_ backend: TestBackend) throws {
        let desk = try Fixture(backend)
        defer { desk.remove() }
        let texts = (1...5).map { "m\($0)" }
        try Self.holdTheCommitterAndQueue(desk, texts)
        desk.gated.open()
        #expect(desk.awaitAnswers(6))
        #expect(desk.gated.groups.map(\.count) == [1, 5], "one transaction for the five")
        var ids: [Int64] = []
        for text in ["first"] + texts {
            guard case .success(.message(let message))? = desk.answer(text) else {
                Issue.record("\(text): \(String(describing: desk.answer(text)))")
                continue
            }
            #expect(message.text == text)
            ids.append(message.id)
        }
        #expect(ids == ids.sorted() && Set(ids).count == 6, "distinct ids in queue order: \(ids)")
        #expect(try desk.stored() == ["first"] + texts)
    }

    @Test(arguments: TestBackend.all) func aStorageFaultFailsEveryPostOfTheGroupWithThatFaultAndSavesNoneOfThem(_ backend: TestBackend) throws {
        let desk = try Fixture(backend)
        defer { desk.remove() }
        let texts = (1...5).map { "m\($0)" }
        try Self.holdTheCommitterAndQueue(desk, texts)
        desk.gated.fail(with: .diskFull)
        desk.gated.open()
        #expect(desk.awaitAnswers(6))
        #expect(desk.gated.groups.map(\.count) == [1, 5])
        for text in ["first"] + texts {
            guard case .failure(let error)? = desk.answer(text) else {
                Issue.record("\(text): \(String(describing: desk.answer(text)))")
                continue
            }
            #expect(StorageFault(error) == .diskFull, "\(text): \(error)")
        }
        #expect(try desk.stored().isEmpty)
        // The disk has room again: the next post is saved.
        desk.gated.fail(with: nil)
        try desk.post("after")
        #expect(desk.awaitAnswers(1))
        #expect(try desk.stored() == ["after"])
    }

    /// A post the store refuses for itself (here: a room that does not exist) fails alone; the
    /// others of its group are saved.
    @Test(arguments: TestBackend.all) func aPostTheStoreRefusesFailsAloneAndTheRestOfItsGroupIsSaved(_ backend: TestBackend) throws {
        let desk = try Fixture(backend)
        defer { desk.remove() }
        try Self.holdTheCommitterAndQueue(desk, [])
        try desk.post("m1")
        try desk.post("nowhere", room: 999)
        try desk.post("m2")
        desk.gated.open()
        #expect(desk.awaitAnswers(4))
        guard case .failure(let error)? = desk.answer("nowhere") else {
            Issue.record("\(String(describing: desk.answer("nowhere")))")
            return
        }
        #expect(StorageFault(error) == nil, "\(error)")
        #expect(try desk.stored() == ["first", "m1", "m2"])
    }

    @Test(arguments: TestBackend.all) func aFullQueueRefusesThePostAndQueuesNothing(_ backend: TestBackend) throws {
        let desk = try Fixture(backend, queueLimit: 2)
        defer { desk.remove() }
        try Self.holdTheCommitterAndQueue(desk, ["m1", "m2"])
        #expect(throws: ChatError.postQueueFull(limit: 2)) { try desk.post("m3") }
        desk.gated.open()
        #expect(desk.awaitAnswers(3))
        #expect(try desk.stored() == ["first", "m1", "m2"])
        #expect(desk.answer("m3") == nil, "a refused post is never answered later")
    }

    /// Shutdown while posts are queued: `shutdown` commits and answers them before its thread ends.
    @Test(arguments: TestBackend.all) func shutdownCommitsAndAnswersWhatIsQueued(_ backend: TestBackend) throws {
        let desk = try Fixture(backend)
        defer { desk.fixture.remove() }
        let texts = (1...5).map { "m\($0)" }
        try Self.holdTheCommitterAndQueue(desk, texts)
        let stopped = DispatchSemaphore(value: 0)
        Thread { desk.chat.shutdown(); stopped.signal() }.start()
        desk.gated.open()
        #expect(stopped.wait(timeout: .now() + 30) == .success)
        #expect(throws: ChatError.shuttingDown) { try desk.post("too late") }
        #expect(desk.answers.withLock { $0.count } == 6)
        #expect(texts.allSatisfy { if case .success(.message)? = desk.answer($0) { true } else { false } })
        #expect(try desk.stored() == ["first"] + texts)
    }

    /// A drain whose time is up answers what is still queued 503 (unsaved) at once, but waits for
    /// the group being committed, so that nobody is told 503 for a message that was saved.
    @Test(arguments: TestBackend.all) func aDrainPastItsDeadlineRefusesTheQueuedPostsAndWaitsForTheGroupInCommit(_ backend: TestBackend) throws {
        let desk = try Fixture(backend)
        defer { desk.remove() }
        try Self.holdTheCommitterAndQueue(desk, ["m1", "m2"])
        let drained = DispatchSemaphore(value: 0)
        Thread { desk.chat.drain(before: .now); drained.signal() }.start()
        #expect(desk.awaitAnswers(2), "the queued posts are answered while the commit is held")
        for text in ["m1", "m2"] {
            guard case .failure(let error)? = desk.answer(text) else {
                Issue.record("\(text): \(String(describing: desk.answer(text)))")
                continue
            }
            #expect(error as? ChatError == .shuttingDown)
        }
        #expect(drained.wait(timeout: .now() + 0.5) == .timedOut, "the drain waits for the commit in progress")
        desk.gated.open()
        #expect(drained.wait(timeout: .now() + 30) == .success)
        guard case .success(.message)? = desk.answer("first") else {
            Issue.record("\(String(describing: desk.answer("first")))")
            return
        }
        #expect(try desk.stored() == ["first"])
        #expect(desk.gated.groups.map(\.count) == [1], "the refused posts never reached the store")
    }
}
