import Accounts
import Chat
import Configuration
import FastCGI
import Orders
import ProcessSupport
import Storage

/// Everything `tradedesk serve` can be told: each module's configuration, read by its own
/// `init(reader:)`, and the few settings that belong to the responder as a whole.
///
/// The variables and flags are documented on the properties of each part, and listed in the
/// README's configuration table.
public struct ResponderConfiguration: Sendable {
    /// The database shared with the bot: an SQLite file (created 0640), or PostgreSQL.
    ///
    /// `DATABASE_URL` (`--database-url`, a `postgresql://` URI) for PostgreSQL; otherwise
    /// `DATABASE_PATH` (`--database`), by default `tradedesk.sqlite`.
    public var database: DatabaseLocation
    public var fastCGI: FastCGIConfiguration
    public var accounts = AccountsConfiguration()
    public var orders = OrdersConfiguration()
    public var execution = MockExecutionServer()
    public var chat = ChatConfiguration()
    /// Requests one user may have held at once: orders waiting for their batch and long-polls.
    /// The default, 32, is a few browser tabs, each with a long-poll, plus a script filling a batch
    /// or two on its own. Past it that user gets 429; everyone else is served.
    ///
    /// `MAX_HELD_PER_USER` (`--max-held-per-user`), 1 to 1,000,000. The default is 32.
    public var maxHeldPerUser = 32

    /// Every part read from `reader`; anything unset keeps its default.
    ///
    /// `fastCGI.drainTimeout` is never shorter than `orders.executionTimeout` + 2 s, so that
    /// batches already sent can finish at shutdown.
    ///
    /// - Throws: ``ConfigurationError`` naming the first setting that is set to a value it does
    ///   not allow.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        database = try DatabaseLocation(reader: reader)
        fastCGI = try FastCGIConfiguration(reader: reader)
        maxHeldPerUser = try reader.wholeNumber(forKey: "maxHeldPerUser", in: 1...1_000_000) ?? maxHeldPerUser
        accounts = try AccountsConfiguration(reader: reader)
        orders = try OrdersConfiguration(reader: reader)
        execution = try MockExecutionServer(reader: reader)
        chat = try ChatConfiguration(reader: reader)
        fastCGI.drainTimeout = max(fastCGI.drainTimeout, orders.executionTimeout + .seconds(2))
    }

}
