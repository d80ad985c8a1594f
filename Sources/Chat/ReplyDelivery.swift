import Foundation
import GRDB
import JobQueue
import Logging
import ProcessSupport

/// Posts the bot's replies into their rooms. The bot is another process that only writes the job
/// table, so this thread asks SQLite, every `interval`, whether anything was committed since it last
/// looked (`PRAGMA data_version`, a few microseconds), and only then reads the replies waiting.
final class ReplyDelivery: Sendable {
    private let watcher: DatabaseQueue
    private let queue: JobQueue
    private let deliver: @Sendable (Job) throws -> Void
    private let logger: Logger
    private let interval: Duration
    private let stopSignal = DispatchSemaphore(value: 0)
    private let thread: ThreadPool

    init(path: String, queue: JobQueue, interval: Duration, logger: Logger, deliver: @escaping @Sendable (Job) throws -> Void) throws {
        var configuration = Configuration()
        configuration.readonly = true
        watcher = try DatabaseQueue(path: path, configuration: configuration)
        self.queue = queue
        self.deliver = deliver
        self.logger = logger
        self.interval = interval
        thread = ThreadPool(name: "reply-delivery", threads: 1)
        thread.submit { [self] in run() }
    }

    func stop() {
        stopSignal.signal()
        thread.finish()
    }

    private func run() {
        var seen: Int?
        let nanoseconds = Int(interval / .nanoseconds(1))
        repeat {
            do {
                let version = try watcher.read { try Int.fetchOne($0, sql: "PRAGMA data_version") }
                if version != seen {
                    seen = version
                    for job in try queue.undeliveredReplies() { try deliver(job) }
                }
            } catch {
                logger.error("bot replies could not be delivered; retrying", metadata: ["error": "\(error)"])
                seen = nil
            }
        } while stopSignal.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .timedOut
    }
}
