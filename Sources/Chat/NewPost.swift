import JobQueue

/// What a user posts to a room: a message, or a command for the bot (a text starting with `/`),
/// which becomes a job in the job table instead (see `JobQueue`).
public enum NewPost: Sendable, Equatable {
    case message(roomID: Int64, author: String, text: String)
    case command(roomID: Int64, userID: Int64, username: String, command: String)

    public var roomID: Int64 {
        switch self {
        case .message(let roomID, _, _), .command(let roomID, _, _, _): roomID
        }
    }
}

/// A post once committed: the message as stored (its id is its place in the room's order), or the
/// queued job.
public enum Posted: Sendable, Equatable {
    case message(Message)
    case job(Job)
}
