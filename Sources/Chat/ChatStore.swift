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
/// order per room (SQLite writes one transaction at a time; a server database can lock the room).
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

    /// Posts a message: its id and timestamp are taken in its transaction (see above).
    func post(roomID: Int64, author: String, text: String) throws -> Message

    /// A command: queued for the bot (see `JobQueue`) in one transaction, never stored as a message.
    func enqueueCommand(roomID: Int64, userID: Int64, username: String, command: String) throws -> Job

    /// Posts a job's reply as the bot (`Message.botAuthor`), in one transaction with marking it
    /// delivered, so that a reply is posted exactly once however often delivery is tried; `nil` if
    /// it was already, or if its room was deleted meanwhile (it is then marked delivered and dropped).
    func deliver(_ job: Job) throws -> Message?
}

extension Message {
    /// A first load, and each `after` page, carries at most this many messages.
    public static let pageSize = 50
    /// The author of the bot's replies (a reserved username).
    public static let botAuthor = "stockbot"
}
