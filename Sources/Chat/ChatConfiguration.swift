import Configuration
import ProcessSupport

/// Limits of the chat. Per user, messages, bot commands and new rooms each have a token bucket: a
/// burst, then so many per second; past it, 429 with `Retry-After`. The buckets are read by
/// ``init(reader:)`` from the variables (and flags) their properties name.
public struct ChatConfiguration: Sendable {
    /// Messages one user may post at once.
    ///
    /// `MESSAGE_BURST` (`--message-burst`), 1 to 10,000. The default is 20.
    public var messageBurst = 20
    /// Messages per second after the burst.
    ///
    /// `MESSAGE_RATE` (`--message-rate`), above 0. The default is 1.
    public var messagesPerSecond = 1.0
    /// Bot commands one user may send at once.
    ///
    /// `COMMAND_BURST` (`--command-burst`), 1 to 10,000. The default is 5.
    public var commandBurst = 5
    /// Bot commands per second after the burst.
    ///
    /// `COMMAND_RATE` (`--command-rate`), above 0. The default is 0.2: one every five seconds.
    public var commandsPerSecond = 0.2
    /// Rooms one user may create at once.
    ///
    /// `ROOM_BURST` (`--room-burst`), 1 to 10,000. The default is 10.
    public var roomBurst = 10
    /// Rooms per second after the burst.
    ///
    /// `ROOM_RATE` (`--room-rate`), above 0. The default is 0.1: one every ten seconds.
    public var roomsPerSecond = 0.1
    /// Posts (messages and commands) waiting for their commit at once. Posts that arrive together
    /// share one transaction (see `ChatService`), so the queue is long only while the disk is slow
    /// or a commit is stuck behind another writer; past it, 503 with `Retry-After`.
    ///
    /// `MAX_QUEUED_POSTS` (`--max-queued-posts`), 1 to 100,000. The default is 4096.
    public var maxQueuedPosts = 4096
    /// `GET /api/rooms` pages: this many rooms unless `limit` asks for another number up to the most.
    public static let defaultRoomPage = 100
    public static let maxRoomPage = 500
    /// Lengths count Unicode scalars, as JSON and the OpenAPI document do, not grapheme clusters:
    /// a combining mark counts, so a short-looking text cannot carry thousands of them.
    public static let maxTextLength = 1000
    public static let maxRoomNameLength = 64
    public static let maxWait = 30.0
    /// How often the responder asks the database whether the bot has answered. The default is 50 ms.
    public var replyPollInterval: Duration = .milliseconds(50)

    /// The defaults.
    public init() {}

    /// The defaults, with each setting `reader` has in place of its default.
    ///
    /// - Throws: ``ConfigurationError`` naming the first setting that is set to a value it does
    ///   not allow, e.g. `ROOM_RATE: '0' is not a rate per second above 0`.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        messageBurst = try reader.wholeNumber(forKey: "messageBurst", in: 1...10_000) ?? messageBurst
        messagesPerSecond = try reader.rate(forKey: "messageRate") ?? messagesPerSecond
        commandBurst = try reader.wholeNumber(forKey: "commandBurst", in: 1...10_000) ?? commandBurst
        commandsPerSecond = try reader.rate(forKey: "commandRate") ?? commandsPerSecond
        roomBurst = try reader.wholeNumber(forKey: "roomBurst", in: 1...10_000) ?? roomBurst
        roomsPerSecond = try reader.rate(forKey: "roomRate") ?? roomsPerSecond
        maxQueuedPosts = try reader.wholeNumber(forKey: "maxQueuedPosts", in: 1...100_000) ?? maxQueuedPosts
    }
}
