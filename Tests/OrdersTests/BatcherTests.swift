import Accounts
import Foundation
import Limits
import Locking
import Logging
@testable import Orders
import Storage
import Testing
import TestSupport

/// An execution server for the batcher's own tests: it records every call and lets the test choose
/// the outcomes.
final class RecordingExecutionServer: ExecutionSdk {
    let calls = Locked<[[ExecutionOrder]]>([])
    let decide: @Sendable ([ExecutionOrder]) throws -> [ExecutionOutcome]
    let latency: Duration

    init(latency: Duration = .zero,
         decide: @escaping @Sendable ([ExecutionOrder]) throws -> [ExecutionOutcome] = { orders in
             orders.map { ExecutionOutcome(orderID: $0.orderID, decision: .approved) }
         }) {
        self.latency = latency
        self.decide = decide
    }

    var name: String { "recording test server" }

    func execute(_ orders: [ExecutionOrder]) async throws -> [ExecutionOutcome] {
        calls.withLock { $0.append(orders) }
        if latency > .zero { try await Task.sleep(for: latency) }
        return try decide(orders)
    }
}

/// Answers received, by order id.
final class AnswerLog: Sendable {
    let answers = Locked<[Int64: [(Order, OrderBatcher.Ending)]]>([:])
    func record(_ order: Order, _ ending: OrderBatcher.Ending) { answers.withLock { $0[order.id, default: []].append((order, ending)) } }
    var count: Int { answers.withLock { $0.values.reduce(0) { $0 + $1.count } } }
    func endings(_ id: Int64) -> [OrderBatcher.Ending] { answers.withLock { $0[id]?.map(\.1) ?? [] } }
    func order(_ id: Int64) -> Order? { answers.withLock { $0[id]?.first?.0 } }
}

struct BatcherFixture {
    let directory: String
    let store: any OrderStore
    let gateway: OrderGateway
    let userID: Int64

    /// Async so that the stores are made on a thread of their own (`onOwnThread`): making a
    /// PostgreSQL database takes a while, and a test holding one of Swift's few cooperative
    /// threads meanwhile would stall the batchers of the tests running beside it.
    init(_ backend: TestBackend, _ configure: (inout OrdersConfiguration) -> Void = { _ in }, execution: any ExecutionSdk) async throws {
        let directory = NSTemporaryDirectory() + "orders-\(UUID().uuidString)"
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (store, userID) = try await onOwnThread {
            let stores = try makeStores(backend, in: directory)
            return (stores.orders, try stores.accounts.createUser(username: "alice", passwordHash: "x").id!)
        }
        self.store = store
        self.userID = userID
        var configuration = OrdersConfiguration()
        configure(&configuration)
        gateway = try OrderGateway(store: store, configuration: configuration, execution: execution, logger: Logger(label: "test"))
        gateway.start()
    }

    var batcher: OrderBatcher { gateway.batcher }

    func submit(_ price: Int64 = 1_000_000, key: String? = nil, log: AnswerLog) throws -> OrderBatcher.Submission {
        try batcher.submit(userID: userID, side: .buy, price: Price(micros: price), key: key, answer: log.record)
    }

    func storedStatuses() throws -> [Int64: String] {
        Dictionary(uniqueKeysWithValues: try store.orders(userID: userID, limit: .max).map { ($0.id, $0.status.rawValue) })
    }

    func stop() async {
        await gateway.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite struct BatcherTests {
    @Test(arguments: TestBackend.all)
    func ordersFromManyThreadsFormFullBatchesAndEachIsAnsweredOnce(_ backend: TestBackend) async throws {
        let server = RecordingExecutionServer()
        let fixture = try await BatcherFixture(backend, execution: server)
        let log = AnswerLog()
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<8 {
                group.addTask {
                    for index in 0..<125 { _ = try? fixture.submit(Int64(thread * 1000 + index + 1), log: log) }
                }
            }
        }
        #expect(await eventuallyAsync { log.count == 1000 })
        let calls = server.calls.withLock { $0 }
        #expect(calls.count == 100)
        #expect(calls.allSatisfy { $0.count == 10 && Set($0.map(\.orderID)).count == 10 })
        #expect(Set(calls.flatMap { $0.map(\.orderID) }).count == 1000)
        #expect(log.answers.withLock { $0.values.allSatisfy { $0.count == 1 && $0[0].1 == .executed && $0[0].0.status == .approved } })
        await fixture.stop()
        #expect(try fixture.storedStatuses().values.allSatisfy { $0 == "approved" })
        #expect(try fixture.storedStatuses().count == 1000)
    }

    @Test(arguments: TestBackend.all)
    func clientsLeavingWhileBatchesFormNeverGetAnOrderExecuted(_ backend: TestBackend) async throws {
        let server = RecordingExecutionServer()
        let fixture = try await BatcherFixture(backend, execution: server)
        let log = AnswerLog()
        let gone = Locked<Set<Int64>>([])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for index in 0..<100 {
                        guard case .waiting(let id, let waiter)? = try? fixture.submit(log: log) else { continue }
                        if index % 3 == 0 {
                            fixture.batcher.clientGone(orderID: id, waiter: waiter)
                            gone.withLock { _ = $0.insert(id) }
                        }
                    }
                }
            }
        }
        await fixture.stop()
        let executed = Set(server.calls.withLock { $0 }.flatMap { $0.map(\.orderID) })
        let statuses = try fixture.storedStatuses()
        #expect(statuses.count == 400)
        for (id, status) in statuses {
            // Sent means executed and stored as such; never sent means withdrawn (client gone or shutdown).
            if executed.contains(id) { #expect(status == "approved", "order \(id)") } else { #expect(status == "withdrawn", "order \(id)") }
        }
        // A client that left before its batch formed never had its order executed.
        let answered = log.answers.withLock { Set($0.keys) }
        #expect(gone.withLock { $0 }.isSubset(of: executed.union(statuses.filter { $0.value == "withdrawn" }.map(\.key))))
        #expect(answered.isSuperset(of: executed.subtracting(gone.withLock { $0 })))
    }

    @Test(arguments: TestBackend.all)
    func outcomesAreMatchedByOrderIDNotPosition(_ backend: TestBackend) async throws {
        let server = RecordingExecutionServer { orders in
            // Reversed, one missing, one unknown id, one duplicated.
            var outcomes = orders.dropFirst().reversed().map {
                ExecutionOutcome(orderID: $0.orderID, decision: $0.price.micros > 5_000_000 ? .rejected : .approved)
            }
            outcomes.append(ExecutionOutcome(orderID: 999_999, decision: .approved))
            outcomes.append(ExecutionOutcome(orderID: orders[1].orderID, decision: .approved))
            return outcomes
        }
        let fixture = try await BatcherFixture(backend, { $0.batchSize = 10 }, execution: server)
        let log = AnswerLog()
        var ids: [Int64] = []
        for price in 1...10 {
            if case .waiting(let id, _) = try fixture.submit(Int64(price) * 1_000_000, log: log) { ids.append(id) }
        }
        #expect(await eventuallyAsync { log.count == 10 })
        #expect(log.order(ids[0])?.status == .failed, "no outcome")
        #expect(log.endings(ids[0]) == [.failed])
        #expect(log.order(ids[1])?.status == .failed, "two outcomes")
        for (index, id) in ids.enumerated().dropFirst(2) {
            #expect(log.order(id)?.status == (index + 1 > 5 ? .rejected : .approved), "order \(id) priced \(index + 1)")
        }
        await fixture.stop()
    }

    @Test(arguments: TestBackend.all)
    func aFailingOrSlowExecutionFailsTheWholeBatch(_ backend: TestBackend) async throws {
        for (server, configure) in [
            (RecordingExecutionServer { _ in throw ExecutionError("boom") }, { (_: inout OrdersConfiguration) in }),
            (RecordingExecutionServer(latency: .seconds(5)), { (c: inout OrdersConfiguration) in c.executionTimeout = .milliseconds(200) }),
        ] {
            let fixture = try await BatcherFixture(backend, { configure(&$0); $0.batchSize = 3 }, execution: server)
            let log = AnswerLog()
            for _ in 0..<3 { _ = try fixture.submit(log: log) }
            #expect(await eventuallyAsync { log.count == 3 })
            #expect(log.answers.withLock { $0.values.allSatisfy { $0[0].1 == .failed && $0[0].0.status == .failed && $0[0].0.reason != nil } })
            await fixture.stop()
            #expect(try fixture.storedStatuses().values.allSatisfy { $0 == "failed" })
        }
    }

    @Test(arguments: TestBackend.all)
    func ordersWaitingTooLongAreWithdrawnAndLingerSendsPartialBatches(_ backend: TestBackend) async throws {
        let timeoutFixture = try await BatcherFixture(backend, { $0.orderTimeout = .milliseconds(300) }, execution: RecordingExecutionServer())
        let log = AnswerLog()
        guard case .waiting(let id, _) = try timeoutFixture.submit(log: log) else { Issue.record("not waiting"); return }
        #expect(await eventuallyAsync { log.count == 1 })
        #expect(log.endings(id) == [.timedOut])
        #expect(log.order(id)?.status == .withdrawn)
        await timeoutFixture.stop()

        let server = RecordingExecutionServer()
        let lingerFixture = try await BatcherFixture(backend, { $0.batchLinger = .milliseconds(300) }, execution: server)
        let lingerLog = AnswerLog()
        for _ in 0..<3 { _ = try lingerFixture.submit(log: lingerLog) }
        #expect(await eventuallyAsync { lingerLog.count == 3 })
        #expect(server.calls.withLock { $0.map(\.count) } == [3])
        await lingerFixture.stop()
    }

    @Test(arguments: TestBackend.all)
    func idempotentRetriesWaitForTheSameOrderAndReusedKeysAreRefused(_ backend: TestBackend) async throws {
        let fixture = try await BatcherFixture(backend, { $0.batchSize = 2 }, execution: RecordingExecutionServer())
        let log = AnswerLog()
        guard case .waiting(let id, _) = try fixture.submit(key: "k1", log: log) else { Issue.record("not waiting"); return }
        guard case .waiting(let retryID, _) = try fixture.submit(key: "k1", log: log) else { Issue.record("retry not waiting"); return }
        #expect(retryID == id)
        #expect(try fixture.submit(2_000_000, key: "k1", log: log) == .keyReused(orderID: id))
        _ = try fixture.submit(log: log)  // fills the batch
        #expect(await eventuallyAsync { log.count == 3 })
        #expect(log.endings(id) == [.executed, .executed], "the original and the retry get the same outcome")
        // Decided: a retry gets the stored order at once, from memory or history.
        #expect(await eventuallyAsync { (try? fixture.submit(key: "k1", log: log)).map { if case .final(let order) = $0 { order.id == id } else { false } } ?? false })
        await fixture.stop()
    }

    /// Idempotency keys are kept in memory only while their order is live (the history holds them
    /// for the 24 h window): distinct keys, many live at once, and what is kept follows the live
    /// orders back to nothing. Each keyed order costs a read of the history (is the key there?),
    /// so this drives 20,000 of them rather than a million; the map is pruned, not capped. After
    /// each thousand the test waits for their batches to end, so that how far the submissions run
    /// ahead of the executions (the machine's speed) does not decide what is kept.
    @Test(arguments: TestBackend.all)
    func idempotencyKeysInMemoryStayBoundedByTheLiveOrders(_ backend: TestBackend) async throws {
        let fixture = try await BatcherFixture(backend, { $0.batchSize = 100 }, execution: RecordingExecutionServer())
        let log = AnswerLog()
        var mostKept = 0
        for index in 0..<20_000 {
            _ = try fixture.submit(key: "key-\(index)", log: log)
            if index % 100 == 99 {
                let kept = fixture.batcher.kept
                #expect(kept.keys <= kept.orders)
                mostKept = max(mostKept, kept.keys)
            }
            if index % 1_000 == 999 {
                #expect(await eventuallyAsync { log.count == index + 1 })
                #expect(await eventuallyAsync { fixture.batcher.kept == (0, 0) }, "\(fixture.batcher.kept) after \(index + 1)")
            }
        }
        #expect(mostKept <= 1_000, "keys leave memory with their orders (at most \(mostKept) kept at once)")
        await fixture.stop()
    }

    /// The other per-user table in Orders, the order rate limiter, through a million distinct users.
    @Test func theOrderRateLimiterStaysBoundedThroughAMillionUsers() throws {
        let limiter = RateLimiter(burst: OrdersConfiguration().orderBurst, perSecond: OrdersConfiguration().ordersPerSecond)
        let now = ContinuousClock.now
        for user in 0..<Int64(1_000_000) { _ = limiter.take(user, now: now) }
        #expect(limiter.keys == 100_000)
    }
}

func eventuallyAsync(timeout: Duration = .seconds(10), _ condition: @Sendable () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
