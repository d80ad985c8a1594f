import Foundation
import JobQueue
import Locking
import Logging
import ProcessSupport
import Storage

/// Posts the bot's replies into their rooms. The bot is another process that only writes the job
/// table, so this thread asks, every `interval`, whether replies may have been committed since it
/// last looked (the queue's `ChangeWatch`), and only then reads the replies waiting, a page at a
/// time; each page is delivered in one transaction. A watch that wakes the thread by itself (a
/// notification per reply) lets it look only once a second meanwhile, until the watch loses its
/// connection and the thread polls every `interval` again.
final class ReplyDelivery: Sendable {
    private let watcher: any ChangeWatch
    private let queue: any JobQueue
    private let deliver: @Sendable ([Job]) throws -> Void
    private let logger: Logger
    private let interval: Duration
    private let thread = WorkerThread(name: "reply-delivery")
    /// Replies read, and delivered in one transaction, at a time.
    static let pageSize = 256
    /// Set after a failed delivery, so that the next pass tries again whether or not anything changed.
    private let failed = Locked(false)

    init(queue: any JobQueue, interval: Duration, logger: Logger, deliver: @escaping @Sendable ([Job]) throws -> Void) throws {
        watcher = try queue.changes(of: .replies) { [thread] in thread.wake() }
        self.queue = queue
        self.deliver = deliver
        self.logger = logger
        self.interval = interval
    }

    func start() {
        thread.start { [self] in deliverWaiting() }
    }

    func stop() {
        thread.stopAndJoin()
        watcher.stop()
    }

    private func deliverWaiting() -> WorkerThread.Next {
        if watcher.changed() || failed.withLock({ $0 }) {
            do {
                var page: [Job]
                repeat {
                    page = try queue.undeliveredReplies(limit: Self.pageSize)
                    try deliver(page)
                } while page.count == Self.pageSize
                failed.withLock { $0 = false }
            } catch {
                logger.error("bot replies could not be delivered; retrying", metadata: ["error": "\(error)"])
                failed.withLock { $0 = true }
            }
        }
        return .after(watcher.wakesByItself ? Self.notifiedInterval : interval)
    }

    /// How often to look while the watch wakes the thread by itself: seldom, for what a lost
    /// notification would leave waiting.
    static let notifiedInterval: Duration = .seconds(1)
}
