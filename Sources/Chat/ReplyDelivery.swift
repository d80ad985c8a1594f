import Foundation
import GRDB
import JobQueue
import Logging
import ProcessSupport
import Storage

/// Posts the bot's replies into their rooms. The bot is another process that only writes the job
/// table, so this thread asks, every `interval`, whether anything was committed since it last
/// looked (`DatabaseChangeWatcher`), and only then reads the replies waiting.
final class ReplyDelivery: Sendable {
    private let watcher: DatabaseChangeWatcher
    private let queue: JobQueue
    private let deliver: @Sendable (Job) throws -> Void
    private let logger: Logger
    private let interval: Duration
    private let stopSignal = DispatchSemaphore(value: 0)
    private let thread: ThreadPool

    init(path: String, queue: JobQueue, interval: Duration, logger: Logger, deliver: @escaping @Sendable (Job) throws -> Void) throws {
        watcher = try DatabaseChangeWatcher(path: path)
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
        let nanoseconds = Int(interval / .nanoseconds(1))
        var failed = false
        repeat {
            guard watcher.changed() || failed else { continue }
            do {
                for job in try queue.undeliveredReplies() { try deliver(job) }
                failed = false
            } catch {
                logger.error("bot replies could not be delivered; retrying", metadata: ["error": "\(error)"])
                failed = true
            }
        } while stopSignal.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .timedOut
    }
}
