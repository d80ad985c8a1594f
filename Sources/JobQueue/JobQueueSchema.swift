import GRDB
import Storage

/// The job table in SQLite (`SQLiteJobQueue`): the only thing the responder and the stock bot
/// share.
///
/// A job goes `queued` → `claimed` (with a lease) → `answered` → `delivered`, or ends `dead` after
/// too many attempts, with its last error and an apology as its reply. A claimed job whose lease
/// expired is claimed again, so a bot that dies mid-job loses nothing.
public enum JobQueueSchema {
    public static let migrations: [Migration] = [
        Migration("jobs-v1") { db in
            try db.execute(sql: """
                CREATE TABLE job (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    room_id INTEGER NOT NULL,
                    user_id INTEGER,
                    username TEXT NOT NULL,
                    command TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('queued', 'claimed', 'answered', 'delivered', 'dead')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    lease_owner TEXT,
                    lease_expires_at DATETIME,
                    not_before DATETIME,
                    reply TEXT,
                    last_error TEXT,
                    created_at DATETIME NOT NULL,
                    answered_at DATETIME,
                    delivered_at DATETIME
                );
                CREATE INDEX job_claimable ON job(status, id);
                CREATE INDEX job_undelivered ON job(id) WHERE reply IS NOT NULL AND delivered_at IS NULL;
                """)
        },
    ]
}
