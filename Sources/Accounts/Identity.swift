/// Who made a request, and how they proved it.
public struct Identity: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        case session(id: Int64)
        case token(id: Int64)
        case password
    }

    public let userID: Int64
    public let username: String
    public let credential: Credential
}
