/// What the chat refuses, in its own words; the responder's error adapter gives each its status
/// and headers.
public enum ChatError: Error, Sendable, Equatable {
    case noSuchRoom
    case roomNameTaken(String)
    /// A long-poll's messages could not be read when it was due.
    case messagesUnavailable
}
