import Foundation
import GRDB
import Storage

/// Rooms and their messages. Room names are unique in any letter case (`name_key` is the name
/// lower-cased, so that this holds beyond ASCII). A bot reply records the job it answers, once.
public enum ChatSchema {
    public static let migrations: [Migration] = [
        Migration("chat-v1") { db in
            try db.execute(sql: """
                CREATE TABLE room (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    name_key TEXT NOT NULL UNIQUE,
                    created_by TEXT NOT NULL,
                    created_at DATETIME NOT NULL
                );
                CREATE TABLE message (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    room_id INTEGER NOT NULL REFERENCES room(id) ON DELETE CASCADE,
                    author TEXT NOT NULL,
                    text TEXT NOT NULL,
                    bot INTEGER NOT NULL DEFAULT 0,
                    job_id INTEGER UNIQUE,
                    created_at DATETIME NOT NULL
                );
                CREATE INDEX message_room ON message(room_id, created_at, id);
                """)
            try db.execute(sql: "INSERT INTO room (name, name_key, created_by, created_at) VALUES ('general', 'general', 'tradedesk', ?)",
                           arguments: [Date()])
        },
    ]
}
