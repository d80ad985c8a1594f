import GRDB
import Storage

/// The accounts tables in SQLite (`SQLiteAccountStore`). Usernames are unique case-insensitively (they are ASCII, so NOCASE is
/// exact). Sessions and tokens keep only a hash of their secret: a copy of the file lets nobody in.
public enum AccountsSchema {
    public static let migrations: [Migration] = [
        Migration("accounts-v1") { db in
            try db.execute(sql: """
                CREATE TABLE user (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    password_hash TEXT NOT NULL,
                    created_at DATETIME NOT NULL
                );
                CREATE TABLE session (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    secret_hash BLOB NOT NULL,
                    created_at DATETIME NOT NULL,
                    last_seen_at DATETIME NOT NULL,
                    expires_at DATETIME NOT NULL
                );
                CREATE INDEX session_user ON session(user_id);
                CREATE TABLE api_token (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    secret_hash BLOB NOT NULL,
                    created_at DATETIME NOT NULL,
                    last_used_at DATETIME
                );
                CREATE INDEX api_token_user ON api_token(user_id);
                """)
        },
    ]
}
