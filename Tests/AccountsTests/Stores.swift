import Accounts
import Foundation
import Postgres
import Storage
import TestSupport

/// The accounts store these tests run against, on a fresh database of `backend` in `directory`:
/// the one place that chooses the backend.
func makeAccountStore(_ backend: TestBackend, in directory: String) throws -> any AccountStore {
    switch backend {
    case .sqlite:
        let database = try DatabaseFile.open(path: directory + "/db.sqlite")
        try DatabaseFile.migrate(database, AccountsSchema.migrations)
        return SQLiteAccountStore(database: database)
    case .postgres:
        let database = try PostgresDatabase(url: try postgresURL(in: directory))
        return PostgresAccountStore(database: database)
    }
}

/// The migrated PostgreSQL database of `directory` (see `PostgresServer.database(keptIn:)`).
func postgresURL(in directory: String) throws -> String {
    try PostgresServer.shared.database(keptIn: directory) { try PostgresDatabase(url: $0).migrate(AccountsSchema.postgresMigrations) }
}

/// Runs `body` on `count` threads of their own, released together once every one has started, so
/// that the calls overlap in the database; returns each thread's result, by index. The caller
/// awaits them without holding one of Swift's cooperative threads.
func atOnce<Result: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> Result) async -> [Result] {
    let gate = StartGate(count)
    let results = ResultSlots<Result>(count)
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread {
                gate.arriveAndWait()
                results[index] = body(index)
                group.leave()
            }.start()
        }
        group.notify(queue: .global()) { continuation.resume() }
    }
    return results.all
}

private final class StartGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: Int

    init(_ count: Int) { waiting = count }

    func arriveAndWait() {
        condition.lock()
        defer { condition.unlock() }
        waiting -= 1
        if waiting == 0 { condition.broadcast() }
        while waiting > 0 { condition.wait() }
    }
}

private final class ResultSlots<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Value?]

    init(_ count: Int) { values = Array(repeating: nil, count: count) }

    subscript(index: Int) -> Value? {
        get { lock.withLock { values[index] } }
        set { lock.withLock { values[index] = newValue } }
    }

    var all: [Value] { lock.withLock { values.map { $0! } } }
}
