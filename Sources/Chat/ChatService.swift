import Foundation
import JobQueue
import Limits
import Logging

/// The chat as the responder runs it: rooms and messages, held long-polls, and the delivery of the
/// bot's replies. Constructing it starts nothing; `start` starts the long-poll timer and the reply
/// delivery, `shutdown` stops and joins them.
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
        delivery = try ReplyDelivery(queue: queue, interval: configuration.replyPollInterval,
                                        logger: logger) { [store, waiters, logger] job in
            if let message = try store.deliver(job) {
                logger.info("bot reply delivered", metadata: ["job": "\(job.id ?? 0)", "room": "\(job.roomID)"])
                Self.answer(waiters.takeAll(roomID: message.roomID), store: store, logger: logger)
            }
        }
    }

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

    /// Posts a message and answers the room's long-polls at once.
    public func post(roomID: Int64, author: String, text: String) throws -> Message {
        let message = try store.post(roomID: roomID, author: author, text: text)
        Self.answer(waiters.takeAll(roomID: roomID), store: store, logger: logger)
        return message
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

    /// Starts the long-poll timer and the delivery of the bot's replies.
    public func start() {
        waiters.start()
        delivery.start()
    }

    /// Stops and joins the timer and delivery threads; held long-polls are answered by the core (503).
    public func shutdown() {
        delivery.stop()
        waiters.stop()
    }
}
