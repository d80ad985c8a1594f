/// What the chat refuses, in its own words; the responder's error adapter gives each its status
/// and headers.
public enum ChatError: Error, Sendable, Equatable {
    case noSuchRoom
    case roomNameTaken(String)
    /// A long-poll's messages could not be read when it was due.
    case messagesUnavailable
    /// `limit` posts are waiting for their commit already (`ChatConfiguration.maxQueuedPosts`):
    /// this one was not queued.
    case postQueueFull(limit: Int)
    /// The responder is stopping: the post was not saved.
    case shuttingDown
}
