import Foundation
import JobQueue
import Limits
import Logging

/// The chat as the responder runs it: rooms and messages, posts committed in groups, held
/// long-polls, and the delivery of the bot's replies. Constructing it starts nothing; `start`
/// starts the committer, the long-poll timer and the reply delivery, `drain` answers the posts
/// queued at shutdown, and `shutdown` stops and joins every thread.
///
/// **Posting.** ``submit(_:answer:)`` queues a post for the committer (`PostCommitter`), which
/// writes every post queued meanwhile in one transaction, so that posts arriving together share
/// one sync to the disk; it then answers each poster, and wakes each room's long-polls once for the
/// group.
public final class ChatService: Sendable {
    public let store: any ChatStore
    public let configuration: ChatConfiguration
    let waiters = RoomWaiters()
    private let messageLimiter: RateLimiter
    private let commandLimiter: RateLimiter
    private let roomLimiter: RateLimiter
    let logger: Logger

    /// `queue` is where commands go and the bot's replies come from; `store` posts them.
    public init(store: any ChatStore, queue: any JobQueue, configuration: ChatConfiguration, logger: Logger) throws {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        messageLimiter = RateLimiter(burst: configuration.messageBurst, perSecond: configuration.messagesPerSecond)
        commandLimiter = RateLimiter(burst: configuration.commandBurst, perSecond: configuration.commandsPerSecond)
        roomLimiter = RateLimiter(burst: configuration.roomBurst, perSecond: configuration.roomsPerSecond)
        let wake: @Sendable (Set<Int64>) -> Void = { [waiters, store, logger] rooms in
            for room in rooms { Self.answer(waiters.takeAll(roomID: room), store: store, logger: logger) }
        }
        committer = PostCommitter(store: store, queueLimit: configuration.maxQueuedPosts, logger: logger, committed: wake)
        delivery = try ReplyDelivery(queue: queue, interval: configuration.replyPollInterval,
                                        logger: logger) { [store, logger] jobs in
            let messages = try store.deliver(jobs)
            for message in messages {
                logger.info("bot reply delivered", metadata: ["room": "\(message.roomID)", "message": "\(message.id)"])
            }
            wake(Set(messages.map(\.roomID)))
        }
    }

    private let committer: PostCommitter
    private let delivery: ReplyDelivery

    /// What a user's allowance is counted in.
    public enum Allowance: Sendable {
        /// Messages posted (`ChatConfiguration.messageBurst`, `messagesPerSecond`).
        case messages
        /// Commands sent to the bot (`commandBurst`, `commandsPerSecond`).
        case commands
        /// Rooms created (`roomBurst`, `roomsPerSecond`).
        case rooms
    }

    /// Takes one from `userID`'s allowance of `kind`: `nil` when allowed, else the whole seconds to
    /// wait before the next.
    public func takeAllowance(_ kind: Allowance, userID: Int64) -> Int? {
        switch kind {
        case .messages: messageLimiter.take(userID)
        case .commands: commandLimiter.take(userID)
        case .rooms: roomLimiter.take(userID)
        }
    }

    /// Long-polls still held.
    public var waiting: Int { waiters.count }

    /// Queues `post` for the next group commit. `answer` is called once, from the committer's
    /// thread, when the post is durable (with the message or job it became), or with the error
    /// that failed its group: the store's (a `StorageFault` when the disk is full or the lock is
    /// held too long), or ``ChatError/shuttingDown`` for a post still queued when the drain ended.
    /// A message's room has its long-polls answered right after its poster.
    ///
    /// Once queued, a post is committed whether or not anyone still waits for the answer.
    ///
    /// - Throws: ``ChatError/postQueueFull(limit:)`` or ``ChatError/shuttingDown``; the post was
    ///   not queued and `answer` is never called.
    public func submit(_ post: NewPost, answer: @escaping @Sendable (Result<Posted, any Error>) -> Void) throws(ChatError) {
        try committer.submit(post, answer: answer)
    }

    /// Holds a long-poll for what is posted in `roomID` after `after`, for at most `wait`: `answer`
    /// gets the new messages, or none once the wait is over. Returns its id, for ``stopWaiting(_:roomID:)``.
    ///
    /// A post between the caller's last read and this registration would be missed, so the room is
    /// read once more here, and the long-poll answered at once if anything is new.
    public func wait(roomID: Int64, after: Int64, wait: Duration, answer: @escaping LongPollAnswer) throws -> UInt64 {
        let id = waiters.add(roomID: roomID, after: after, wait: wait, answer: answer)
        if try !store.messages(roomID: roomID, after: after).isEmpty {
            Self.answer(waiters.takeAll(roomID: roomID), store: store, logger: logger)
        }
        return id
    }

    /// The client of a held long-poll left: forget it.
    public func stopWaiting(_ id: UInt64, roomID: Int64) {
        waiters.remove(id, roomID: roomID)
    }

    /// Answers one room's waiters with what is new after each one's cursor: one query per distinct
    /// cursor, and one batch shared by the waiters that had it (see `MessageBatch.shared`).
    static func answer(_ waiters: [RoomWaiters.Waiter], store: any ChatStore, logger: Logger) {
        for (after, group) in Dictionary(grouping: waiters, by: \.after) {
            guard let room = group.first?.roomID else { continue }
            let result: Result<MessageBatch, ChatError>
            do {
                result = .success(MessageBatch(messages: try store.messages(roomID: room, after: after)))
            } catch {
                logger.error("long-poll answer failed", metadata: ["cursor": "\(after)", "error": "\(error)"])
                result = .failure(.messagesUnavailable)
            }
            for waiter in group { waiter.answer(result) }
        }
    }

    /// Starts the committer, the long-poll timer and the delivery of the bot's replies.
    public func start() {
        committer.start()
        waiters.start()
        delivery.start()
    }

    /// At shutdown, once no handler can queue another post, while answers can still be written:
    /// commits and answers the posts queued, waiting until `deadline` at most (see
    /// `PostCommitter.drain(before:)`).
    public func drain(before deadline: ContinuousClock.Instant) {
        committer.drain(before: deadline)
    }

    /// Stops and joins the delivery, committer (after it has committed what it holds) and timer
    /// threads; held long-polls are answered by the core (503).
    public func shutdown() {
        delivery.stop()
        committer.stop()
        waiters.stop()
    }
}
