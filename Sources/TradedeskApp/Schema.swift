import Accounts
import Chat
import JobQueue
import Orders
import Postgres
import Storage

/// Every module's migrations, in the order they ship, one list per backend. Append only.
public enum Schema {
    public static let migrations: [Migration] =
        AccountsSchema.migrations + OrdersSchema.migrations + JobQueueSchema.migrations + ChatSchema.migrations

    /// PostgreSQL's: the roles first, the modules' tables, then the grants. Run by the database's
    /// owner (`tradedesk migrate` with the owner's `DATABASE_URL`), who keeps every table; the
    /// programs connect as login roles that are members of the two group roles.
    public static let postgresMigrations: [PostgresMigration] =
        [roles] + AccountsSchema.postgresMigrations + OrdersSchema.postgresMigrations
            + JobQueueSchema.postgresMigrations + ChatSchema.postgresMigrations + [grants]

    /// The group roles of least privilege, `NOLOGIN`: a DBA makes login roles members of them
    /// (`CREATE ROLE desk_bot LOGIN PASSWORD '…' IN ROLE tradedesk_bot`). Creating a role needs
    /// `CREATEROLE`; an owner without it runs this step once the DBA has created the two roles
    /// (the README gives the SQL), and then it changes nothing. Roles belong to the whole server,
    /// so a second database on it shares them.
    static let roles = PostgresMigration("roles-v1", sql: """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tradedesk_responder') THEN
                CREATE ROLE tradedesk_responder NOLOGIN;
            END IF;
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tradedesk_bot') THEN
                CREATE ROLE tradedesk_bot NOLOGIN;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database's migration created them at the same moment
        END
        $$;
        """)

    /// The responder reads and writes rows of every table (and of those later steps add: the
    /// default privileges), and may neither change nor drop one; the migrations' record it may only
    /// read (the health check shows it). The bot reaches the job table alone: it claims, renews and
    /// answers jobs, and can read no message, account or order.
    static let grants = PostgresMigration("grants-v1", sql: """
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tradedesk_responder;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tradedesk_responder;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tradedesk_responder;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO tradedesk_responder;
        REVOKE INSERT, UPDATE, DELETE ON tradedesk_migrations FROM tradedesk_responder;
        GRANT SELECT, UPDATE ON job TO tradedesk_bot;
        """)
}
