import Foundation

/// What a bot decided for a job it holds, to be recorded with others in one transaction
/// (`JobQueue.answer(_:owner:now:)`).
public enum JobOutcome: Sendable, Equatable {
    /// Completed with its reply (`answered`).
    case answered(jobID: Int64, reply: String)
    /// Put back to be tried again after `at` (`queued`), with why this attempt failed.
    case retry(jobID: Int64, error: String, at: Date)
    /// Failed too often, or for good: `dead`, with its last error, and `apology` as the reply.
    case dead(jobID: Int64, error: String, apology: String)

    public var jobID: Int64 {
        switch self {
        case .answered(let jobID, _), .retry(let jobID, _, _), .dead(let jobID, _, _): jobID
        }
    }
}
