import Foundation
import JobQueue

public enum ChatStoreError: Error, Equatable {
    case roomNameTaken
}

/// Rooms and messages as the chat needs them, each call one transaction.
///
/// **One order per room: commit order.** A message's id is assigned inside the transaction that
/// posts it, so that ids grow in the order messages were committed, and every read orders by id,
/// never by time: paging with the largest id seen (`messages(roomID:after:)`) never skips one. The
/// timestamp is a label, taken inside the same transaction and raised, if need be, to the room's
/// previous message's: so timestamps never go backwards in a room, whether posters race or the
/// server's clock steps back (NTP). A backend with concurrent writers must make id order commit
/// order per room: SQLite writes one transaction at a time; `PostgresChatStore` locks the room's
/// row before it takes ids.
public protocol ChatStore: Sendable {
    /// Up to `limit` rooms with ids above `after`, oldest first: a page of the room list.
    func rooms(after: Int64, limit: Int) throws -> [Room]

    func room(id: Int64) throws -> Room?

    /// `ChatStoreError.roomNameTaken` if a room has this name in any letter case.
    func createRoom(name: String, by username: String) throws -> Room

    /// The last `Message.pageSize` messages in commit order, oldest first.
    func lastMessages(roomID: Int64) throws -> [Message]

    /// Up to `Message.pageSize` messages committed after `afterID` (a message id the client has
    /// seen), in commit order.
    func messages(roomID: Int64, after afterID: Int64) throws -> [Message]

    /// Commits `batch` in one transaction (one sync to the disk for all of them), in its order:
    /// messages are posted, each with its id and timestamp taken in the transaction (see above),
    /// and commands are queued for the bot (see `JobQueue`), never stored as messages. Returns what
    /// each became, in the same order. Whole or not at all: if it throws, nothing of it was saved.
    ///
    /// This is the chat's group commit (`ChatService` gathers posts that arrive together). On
    /// PostgreSQL it is one `BEGIN … COMMIT` of the rooms' lock and one `INSERT … RETURNING` for
    /// all the messages (and one for all the commands), whatever the group's size.
    func post(_ batch: [NewPost]) throws -> [Posted]

    /// Posts each job's reply as the bot (`Message.botAuthor`), all in one transaction with marking
    /// them delivered, so that a reply is posted exactly once however often delivery is tried.
    /// Returns the messages posted, in the jobs' order; a job already delivered, or whose room was
    /// deleted meanwhile (it is then marked delivered and dropped), has none.
    func deliver(_ jobs: [Job]) throws -> [Message]
}

extension ChatStore {
    /// Posts one message in a transaction of its own.
    public func post(roomID: Int64, author: String, text: String) throws -> Message {
        guard case .message(let message)? = try post([.message(roomID: roomID, author: author, text: text)]).first else {
            preconditionFailure("ChatStore.post answered a message with something else")
        }
        return message
    }

    /// Queues one command for the bot in a transaction of its own.
    public func enqueueCommand(roomID: Int64, userID: Int64, username: String, command: String) throws -> Job {
        guard case .job(let job)? = try post([.command(roomID: roomID, userID: userID, username: username, command: command)]).first else {
            preconditionFailure("ChatStore.post answered a command with something else")
        }
        return job
    }

    /// Delivers one job's reply: the message, or `nil` if it was delivered already.
    public func deliver(_ job: Job) throws -> Message? { try deliver([job]).first }
}

extension Message {
    /// A first load, and each `after` page, carries at most this many messages.
    public static let pageSize = 50
    /// The author of the bot's replies (a reserved username).
    public static let botAuthor = "stockbot"
}
