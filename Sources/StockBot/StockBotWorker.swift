import Foundation
import Logging
import ProcessSupport
import Storage

/// The stock bot's process. For now it opens the shared database and waits for SIGTERM; the job
/// queue and quotes arrive with the bot issue.
public enum StockBotWorker {
    /// Call `ShutdownSignals.block()` first thing in `main`.
    public static func run(databasePath: String, logger: Logger) throws {
        let database = try DatabaseFile.open(path: databasePath)
        let migrations = try DatabaseFile.appliedMigrations(database)
        logger.notice("stockbot started", metadata: ["database": "\(databasePath)", "schema_migrations": "\(migrations.count)"])

        let signal = ShutdownSignals.wait()
        logger.notice("stockbot stopped", metadata: ["signal": "\(ShutdownSignals.name(of: signal))"])
    }
}
