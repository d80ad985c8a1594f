/// Limits of the chat. Per user: messages and commands each have a token bucket.
public struct ChatConfiguration: Sendable {
    public var messageBurst = 20
    public var messagesPerSecond = 1.0
    public var commandBurst = 5
    public var commandsPerSecond = 0.2
    /// Rooms one user may create: a burst, then one every ten seconds (`ROOM_BURST`, `ROOM_RATE`).
    public var roomBurst = 10
    public var roomsPerSecond = 0.1
    /// `GET /api/rooms` pages: this many rooms unless `limit` asks for another number up to the most.
    public static let defaultRoomPage = 100
    public static let maxRoomPage = 500
    /// Lengths count Unicode scalars, as JSON and the OpenAPI document do, not grapheme clusters:
    /// a combining mark counts, so a short-looking text cannot carry thousands of them.
    public static let maxTextLength = 1000
    public static let maxRoomNameLength = 64
    public static let maxWait = 30.0
    /// How often the responder asks the database whether the bot has answered (`REPLY_POLL_INTERVAL`).
    public var replyPollInterval: Duration = .milliseconds(50)

    public init() {}
}
