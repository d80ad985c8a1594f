import Foundation
import Logging
import Storage

/// The stock bot's process. For now it opens the shared database and waits for SIGTERM; the job
/// queue and quotes arrive with the bot issue.
public enum StockBotWorker {
    public static func run(databasePath: String, logger: Logger) throws {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let database = try DatabaseFile.open(path: databasePath)
        let migrations = try DatabaseFile.appliedMigrations(database)
        logger.notice("stockbot started", metadata: ["database": "\(databasePath)", "schema_migrations": "\(migrations.count)"])

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.notice("stockbot stopped", metadata: ["signal": "\(String(cString: strsignal(received)))"])
    }
}
