import Foundation
import GRDB
import HTTP
import JobQueue
import Limits
import Logging

/// The chat as the responder runs it: rooms and messages, held long-polls, and the delivery of the
/// bot's replies.
public final class ChatService: Sendable {
    public let store: ChatStore
    public let configuration: ChatConfiguration
    let waiters = RoomWaiters()
    let messageLimiter: RateLimiter
    let commandLimiter: RateLimiter
    let roomLimiter: RateLimiter
    let logger: Logger

    public init(database: DatabasePool, path: String, configuration: ChatConfiguration, logger: Logger) throws {
        store = ChatStore(database: database)
        self.configuration = configuration
        self.logger = logger
        messageLimiter = RateLimiter(burst: configuration.messageBurst, perSecond: configuration.messagesPerSecond)
        commandLimiter = RateLimiter(burst: configuration.commandBurst, perSecond: configuration.commandsPerSecond)
        roomLimiter = RateLimiter(burst: configuration.roomBurst, perSecond: configuration.roomsPerSecond)
        delivery = try ReplyDelivery(path: path, queue: JobQueue(database: database), interval: configuration.replyPollInterval,
                                        logger: logger) { [store, waiters, logger] job in
            if let message = try store.deliver(job) {
                logger.info("bot reply delivered", metadata: ["job": "\(job.id ?? 0)", "room": "\(job.roomID)"])
                Self.answer(waiters.takeAll(roomID: message.roomID), store: store, logger: logger)
            }
        }
    }

    private let delivery: ReplyDelivery

    /// Long-polls still held.
    public var waiting: Int { waiters.count }

    /// Posts a message and answers the room's long-polls at once.
    func post(roomID: Int64, author: String, text: String) throws -> Message {
        let message = try store.post(roomID: roomID, author: author, text: text)
        Self.answer(waiters.takeAll(roomID: roomID), store: store, logger: logger)
        return message
    }

    /// Answers one room's waiters with what is new after each one's cursor: one query per distinct
    /// cursor, and one encoded body shared by the waiters that had it.
    static func answer(_ waiters: [RoomWaiters.Waiter], store: ChatStore, logger: Logger) {
        for (after, group) in Dictionary(grouping: waiters, by: \.after) {
            guard let room = group.first?.roomID else { continue }
            let response: HTTPResponse
            do {
                response = MessageListJSON.response(try store.messages(roomID: room, after: after))
            } catch {
                logger.error("long-poll answer failed", metadata: ["cursor": "\(after)", "error": "\(error)"])
                response = HTTPError.serviceUnavailable("messages cannot be read right now; retry shortly", retryAfter: 1).response
            }
            for waiter in group { waiter.pending.respond(response) }
        }
    }

    /// Stops the timer and delivery threads; held long-polls are then answered by the core (503).
    public func shutdown() {
        delivery.stop()
        waiters.stop()
    }
}
