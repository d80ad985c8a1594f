import Foundation
import Locking
import Logging
import ProcessSupport
import Storage

/// Writes the order history on one thread of its own, many events to a transaction, so that no
/// request waits for a database round-trip of its own.
///
/// Events are written in the order they were recorded. `commit` waits until its event is durable:
/// a batch is committed as sent before it is executed, so a crash can always be reconciled.
///
/// When the disk is full or the file cannot be written (a `StorageFault`), recorded events are
/// kept, in order, and written once the fault clears; meanwhile `fault` says what is wrong, so
/// that no new order is taken and no batch is committed as sent. A recorded event's `durable`
/// callback runs only when the event is written, so that the batcher tells a client an outcome
/// only once it is on disk.
final class OrderJournal: Sendable {
    typealias Event = OrderEvent

    private struct Entry {
        let event: Event
        /// Called once: for a commit after the first attempt to write the event; for a recorded
        /// event when it is written (nil), lost (an error that is no storage fault), or still
        /// unwritten when the journal stops (the fault).
        var done: (@Sendable (Error?) -> Void)?
        /// Recorded events are kept through a storage fault; a commit fails at once instead.
        let keptThroughFaults: Bool
    }

    private struct Queue {
        var entries: [Entry] = []
        var stopping = false
        var fault: StorageFault?
    }

    /// How often events kept through a storage fault are tried again.
    static let retryInterval: Duration = .seconds(1)

    private let store: any OrderStore
    private let logger: Logger
    private let queue = Locked(Queue())
    private let writer = WorkerThread(name: "order-journal")
    /// Events kept through a storage fault, oldest first; only the writer thread touches them.
    private let kept = Locked<[Entry]>([])
    private let faultChanged = Locked<(@Sendable () -> Void)?>(nil)

    init(store: any OrderStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Starts the writer thread. Events recorded before wait for it.
    func start() {
        writer.start { [self] in writeQueued() }
    }

    /// The storage fault that keeps events unwritten, if any.
    var fault: StorageFault? { queue.withLock { $0.fault } }

    /// Records `event`; `durable` is called with nil once it is on disk, however many retries that
    /// takes, or with the error if it never will be (lost, or unwritten when the journal stops).
    func record(_ event: Event, durable: (@Sendable (Error?) -> Void)? = nil) {
        append(Entry(event: event, done: durable, keptThroughFaults: true))
    }

    /// Records `event` and waits until it is durable.
    func commit(_ event: Event) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            append(Entry(event: event, done: { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }, keptThroughFaults: false))
        }
    }

    private func append(_ entry: Entry) {
        queue.withLock { $0.entries.append(entry) }
        writer.wake()
    }

    /// Writes what is queued and joins the writer thread.
    func finish() {
        queue.withLock { $0.stopping = true }
        writer.wake()
        writer.join()
    }

    /// One pass of the writer: what is queued, after what a fault kept (retried every `retryInterval`).
    private func writeQueued() -> WorkerThread.Next {
        let (entries, stopping) = queue.withLock { queue in
            defer { queue.entries = [] }
            return (queue.entries, queue.stopping)
        }
        let pending = kept.withLock { $0 } + entries
        let previous = self.fault
        let (stillKept, fault): ([Entry], StorageFault?) = pending.isEmpty ? ([], nil) : write(pending)
        kept.withLock { $0 = stillKept }
        if let fault, previous == nil {
            logger.error("order history cannot be written; keeping its events until it can", metadata: ["error": "\(fault)"])
        } else if fault == nil, previous != nil {
            logger.notice("order history written again")
        }
        if stopping {
            if !stillKept.isEmpty {
                logger.error("order history events not written at shutdown", metadata: [
                    "events": "\(stillKept.count)", "error": "\(fault.map(String.init(describing:)) ?? "")",
                ])
                for entry in stillKept { entry.done?(fault ?? StorageFault.ioError) }
            }
            return .finished
        }
        return stillKept.isEmpty ? .whenWoken : .after(Self.retryInterval)
    }

    /// Writes `entries` in order; returns those kept for a retry and the fault that kept them.
    /// `fault` is published before any callback runs: a client told of a failure may submit again
    /// at once, and must then meet the fault, not a journal that seems well.
    private func write(_ entries: [Entry]) -> (kept: [Entry], fault: StorageFault?) {
        do {
            try store.write(entries.map(\.event))
            publish(nil)
            for entry in entries { entry.done?(nil) }
            return ([], nil)
        } catch {
            // One by one, so that one bad event does not lose the others. After a storage fault
            // the rest wait their turn: a later event must not be written before an earlier one.
            // A kept event's callback waits until it is written; a commit fails at once.
            var kept: [Entry] = []
            var fault: StorageFault?
            for entry in entries {
                if let fault {
                    if entry.keptThroughFaults { kept.append(entry) } else { entry.done?(fault) }
                    continue
                }
                do {
                    try store.write([entry.event])
                    entry.done?(nil)
                } catch {
                    if let storageFault = StorageFault(error), entry.keptThroughFaults {
                        fault = storageFault
                        publish(storageFault)
                        kept.append(entry)
                    } else {
                        entry.done?(error)
                        if entry.keptThroughFaults {
                            logger.error("order history event lost", metadata: ["event": "\(entry.event)", "error": "\(error)"])
                        }
                    }
                }
            }
            if fault == nil { publish(nil) }
            return (kept, fault)
        }
    }

    private func publish(_ fault: StorageFault?) {
        let changed = queue.withLock { queue in
            defer { queue.fault = fault }
            return queue.fault != fault
        }
        if changed, let hook = faultChanged.withLock({ $0 }) { hook() }
    }

    /// `hook` runs on the writer thread each time `fault` changes: a shutdown waiting for outcomes
    /// to be written learns at once that they cannot be.
    func onFaultChange(_ hook: @escaping @Sendable () -> Void) {
        faultChanged.withLock { $0 = hook }
    }
}
