import Locking

/// How a held long-poll is answered: with the messages after its cursor, or why they could not be
/// read. Called once, on the thread that posted, delivered or timed out.
public typealias LongPollAnswer = @Sendable (Result<MessageBatch, ChatError>) -> Void

/// The messages a group of long-polls is answered with: those after one cursor, read once and
/// handed to every waiter that had that cursor (a post may wake thousands).
///
/// Whatever the waiters make of them is worth making once too: ``shared(_:)`` keeps the first
/// waiter's result (an encoded answer) for the others.
public final class MessageBatch: Sendable {
    public let messages: [Message]
    private let memo = Locked<(any Sendable)?>(nil)

    public init(messages: [Message]) { self.messages = messages }

    /// `make()` the first time, and the same value for every later call with the same type.
    public func shared<Value: Sendable>(_ make: () -> Value) -> Value {
        memo.withLock { memo in
            if let value = memo as? Value { return value }
            let value = make()
            memo = value
            return value
        }
    }
}
