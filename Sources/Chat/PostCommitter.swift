import Locking
import Logging
import ProcessSupport
import Storage

/// Group commit for posts: the posts that arrive while a commit is being synced to the disk wait
/// in a queue, and the next commit takes all of them, up to ``maxGroup``, in one transaction and
/// one sync (`ChatStore.post(_:)`). Each poster is answered once its group is durable.
///
/// Nothing waits on purpose for a group to fill: a post that finds the committer idle is committed
/// at once, alone. Groups form only under load, where they are what keeps one sync per post from
/// being the limit.
///
/// One thread of its own (`WorkerThread`) commits, in queue order, so a room's id order (commit
/// order) is the order in which posts were queued, and a group is committed whole or not at all:
/// an `after=` reader sees all of it or none of it, never a gap.
///
/// ```swift
/// let committer = PostCommitter(store: store, queueLimit: 4096, logger: logger) { rooms in wake(rooms) }
/// committer.start()
/// try committer.submit(.message(roomID: 1, author: "alice", text: "hi")) { result in answer(result) }
/// committer.drain(before: deadline)   // at shutdown, while answers can still be written
/// committer.stop()                    // commits what is left, then joins the thread
/// ```
final class PostCommitter: Sendable {
    /// How a poster hears of its post: what it became, or the store's error (for the whole group).
    typealias Answer = @Sendable (Result<Posted, any Error>) -> Void

    /// Posts committed in one transaction, at most. A group is one transaction, so this bounds how
    /// long the writer holds SQLite's write lock, which the bot's process waits for.
    static let maxGroup = 256

    private struct Entry: Sendable {
        let post: NewPost
        let answer: Answer
    }

    private struct State {
        var queue: [Entry] = []
        /// A group taken from the queue and not yet answered.
        var committing = false
        /// Refuses new posts (from the end of the drain, or `stop`).
        var closed = false
        /// The thread ends once the queue is empty.
        var stopping = false
    }

    private let store: any ChatStore
    private let queueLimit: Int
    private let logger: Logger
    /// Called after each group's posters are answered, with the rooms that got messages.
    private let committed: @Sendable (Set<Int64>) -> Void
    private let state = LockedCondition(State())
    private let thread = WorkerThread(name: "chat-commit")

    /// `queueLimit` posts may wait at once; past it ``submit(_:answer:)`` refuses.
    init(store: any ChatStore, queueLimit: Int, logger: Logger, committed: @escaping @Sendable (Set<Int64>) -> Void) {
        self.store = store
        self.queueLimit = queueLimit
        self.logger = logger
        self.committed = committed
    }

    func start() {
        thread.start { [self] in commitQueued() }
    }

    /// Queues `post`; `answer` is called once, on the committer's thread, after its group is
    /// committed (or failed, or was refused at shutdown).
    ///
    /// - Throws: ``ChatError/postQueueFull(limit:)`` when `queueLimit` posts wait already, and
    ///   ``ChatError/shuttingDown`` once the drain has ended: the post was not queued.
    func submit(_ post: NewPost, answer: @escaping Answer) throws(ChatError) {
        try state.withLock { state throws(ChatError) in
            guard !state.closed else { throw .shuttingDown }
            guard state.queue.count < queueLimit else { throw .postQueueFull(limit: queueLimit) }
            state.queue.append(Entry(post: post, answer: answer))
        }
        thread.wake()
    }

    /// At shutdown, once no handler can queue more: waits until every queued post is committed and
    /// answered, or `deadline`. Posts still queued then are answered ``ChatError/shuttingDown``,
    /// unsaved; a group already being committed is waited for whatever the deadline (a commit is
    /// bounded by the database's busy timeout), so that nobody is told 503 for a message that was
    /// saved. Later posts are refused.
    func drain(before deadline: ContinuousClock.Instant) {
        let unsaved = state.wait(until: deadline, while: { !$0.queue.isEmpty || $0.committing }) { state in
            state.closed = true
            defer { state.queue = [] }
            return state.queue
        }.result
        if !unsaved.isEmpty {
            logger.warning("posts not saved: the drain ended first", metadata: ["posts": "\(unsaved.count)"])
        }
        for entry in unsaved { entry.answer(.failure(ChatError.shuttingDown)) }
        _ = state.wait(until: nil, while: { $0.committing }) { _ in }
    }

    /// Commits and answers whatever is still queued, then ends and joins the thread.
    func stop() {
        state.withLock { state in
            state.closed = true
            state.stopping = true
        }
        thread.wake()
        thread.join()
    }

    /// The thread's pass: one group.
    private func commitQueued() -> WorkerThread.Next {
        let (group, stopping) = state.withLock { state -> ([Entry], Bool) in
            let group: [Entry]
            if state.queue.count <= Self.maxGroup {
                group = state.queue
                state.queue = []
            } else {
                group = Array(state.queue.prefix(Self.maxGroup))
                state.queue.removeFirst(Self.maxGroup)
            }
            state.committing = !group.isEmpty
            return (group, state.stopping)
        }
        if group.isEmpty { return stopping ? .finished : .whenWoken }
        commit(group)
        let (more, finished) = state.withLock { state in
            state.committing = false
            return (!state.queue.isEmpty, state.stopping && state.queue.isEmpty)
        }
        state.broadcast()
        // A wake from `stop` may have been spent on this pass: nothing can be queued once stopping.
        if finished { return .finished }
        return more ? .at(.now) : .whenWoken
    }

    /// One transaction for the group. A storage fault (the disk is full, the file cannot be
    /// written, the lock is held too long) fails every post in it alike, and each poster gets that
    /// error; any other error is one post's, so the posts are then tried one by one, and only the
    /// post the store refuses fails.
    private func commit(_ group: [Entry]) {
        let result = Result { try store.post(group.map(\.post)) }
        switch result {
        case .success(let posted):
            for (entry, posted) in zip(group, posted) { entry.answer(.success(posted)) }
            let rooms = Set(posted.compactMap { posted -> Int64? in
                if case .message(let message) = posted { return message.roomID }
                return nil
            })
            if !rooms.isEmpty { committed(rooms) }
        case .failure(let error) where group.count > 1 && StorageFault(error) == nil:
            logger.error("a group of posts failed; committing them one by one", metadata: ["posts": "\(group.count)", "error": "\(error)"])
            for entry in group { commit([entry]) }
        case .failure(let error):
            logger.error("posts not saved", metadata: ["posts": "\(group.count)", "error": "\(error)"])
            for entry in group { entry.answer(.failure(error)) }
        }
    }
}
