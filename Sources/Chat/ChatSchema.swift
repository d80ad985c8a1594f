import Foundation
import GRDB
import Storage

/// Rooms and their messages in SQLite (`SQLiteChatStore`). Room names are unique in any letter case (`name_key` is the name
/// lower-cased, so that this holds beyond ASCII). A bot reply records the job it answers, once.
/// A room's messages are read in commit order, which is id order (see `ChatStore`).
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
        // Messages are read by id, not by time: the index that ordered them by time made every
        // `after` read scan the room's whole history. Rows are untouched; old rows keep their
        // timestamps even where those are out of id order (the order served is id order).
        Migration("chat-v2-message-order-by-id") { db in
            try db.execute(sql: """
                DROP INDEX message_room;
                CREATE INDEX message_room_order ON message(room_id, id);
                """)
        },
    ]
}
