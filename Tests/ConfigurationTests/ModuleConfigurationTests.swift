import Accounts
import Chat
import Configuration
import FastCGI
import Orders
import ProcessSupport
import StockBot
import Storage
import Testing
import TradedeskApp

/// A reader over fixed values, as the environment would give them: text.
func reader(_ values: [AbsoluteConfigKey: ConfigValue]) -> ConfigReader {
    ConfigReader(provider: InMemoryProvider(values: values))
}

/// The text of the `ConfigurationError` `body` is refused with.
func refusal(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return (error as? ConfigurationError)?.description ?? "not a ConfigurationError: \(error)"
    }
}

/// Each module's `init(reader:)`: what it reads, its defaults, and the texts it refuses a value in.
struct ModuleConfigurationTests {
    @Test func accounts() throws {
        let defaults = try AccountsConfiguration(reader: reader([:]))
        #expect(!defaults.registrationOpen && defaults.sessionIdleTimeout == .seconds(86_400) && defaults.maxTokensPerUser == 50)
        let read = try AccountsConfiguration(reader: reader([
            "registration": "open", "sessionIdleTimeout": "0.25", "sessionMaxAge": "60", "passwordHashThreads": "3",
            "credentialCacheLifetime": "0", "credentialCacheSize": "7", "maxTokensPerUser": "2", "maxSessionsPerUser": "4",
            "loginFailures": "9", "loginFailuresAcrossAddresses": "900",
        ]))
        #expect(read.registrationOpen)
        #expect(read.sessionIdleTimeout == .milliseconds(250) && read.sessionMaxAge == .seconds(60))
        #expect(read.passwordHashThreads == 3 && read.credentialCacheLifetime == .zero && read.credentialCacheCapacity == 7)
        #expect(read.maxTokensPerUser == 2 && read.maxSessionsPerUser == 4)
        #expect(read.throttle.freeFailures == 9 && read.throttle.freeFailuresAcrossAddresses == 900)

        #expect(refusal { _ = try AccountsConfiguration(reader: reader(["registration": "yes"])) }
                == "REGISTRATION: 'yes' is neither open nor closed")
        #expect(refusal { _ = try AccountsConfiguration(reader: reader(["passwordHashThreads": "17"])) }
                == "PASSWORD_HASH_THREADS: '17' is not a whole number from 1 to 16")
        #expect(refusal { _ = try AccountsConfiguration(reader: reader(["sessionMaxAge": "-1"])) }
                == "SESSION_MAX_AGE: '-1' is not a number of seconds")
        #expect(refusal { _ = try AccountsConfiguration.maxTokensPerUser(reader: reader(["maxTokensPerUser": "lots"])) }
                == "MAX_TOKENS_PER_USER: 'lots' is not a whole number from 1 to 10000")
    }

    @Test func orders() throws {
        let defaults = try OrdersConfiguration(reader: reader([:]))
        #expect(defaults.batchSize == 10 && defaults.batchLinger == nil && defaults.ordersPerSecond == 50)
        let read = try OrdersConfiguration(reader: reader([
            "batchSize": "7", "orderBurst": "3", "orderRate": "0.5", "orderTimeout": "1.5", "batchLinger": "0.2",
            "executionTimeout": "4", "outcomeDurabilityTimeout": "6",
        ]))
        #expect(read.batchSize == 7 && read.orderBurst == 3 && read.ordersPerSecond == 0.5)
        #expect(read.orderTimeout == .milliseconds(1500) && read.batchLinger == .milliseconds(200))
        #expect(read.executionTimeout == .seconds(4) && read.outcomeDurabilityTimeout == .seconds(6))
        #expect(try OrdersConfiguration(reader: reader(["batchLinger": "0"])).batchLinger == nil, "0 is off")

        #expect(refusal { _ = try OrdersConfiguration(reader: reader(["batchSize": "banana"])) }
                == "BATCH_SIZE: 'banana' is not a whole number from 1 to 10000")
        #expect(refusal { _ = try OrdersConfiguration(reader: reader(["orderRate": "0"])) }
                == "ORDER_RATE: '0' is not a rate per second above 0")
    }

    @Test func theMockExecutionServer() throws {
        let defaults = try MockExecutionServer(reader: reader([:]))
        #expect(defaults.latency == .zero && defaults.rejectAbove == nil && defaults.failRate == 0 && defaults.faults.isEmpty)
        let read = try MockExecutionServer(reader: reader([
            "executionLatencyMs": "200", "executionRejectAbove": "100.5", "executionFailRate": "0.25", "executionFaults": "fail, hang",
        ]))
        #expect(read.latency == .milliseconds(200) && read.rejectAbove == Price(micros: 100_500_000) && read.failRate == 0.25)
        #expect(read.faults == [.fail, .hang])

        #expect(refusal { _ = try MockExecutionServer(reader: reader(["executionFaults": "fail,,hang"])) }
                == "EXECUTION_FAULTS: '' is not a fault; use a comma-separated list of fail and hang")
        #expect(refusal { _ = try MockExecutionServer(reader: reader(["executionRejectAbove": "-3"])) }
                == "EXECUTION_REJECT_ABOVE: '-3' is not a positive price")
        #expect(refusal { _ = try MockExecutionServer(reader: reader(["executionFailRate": "2"])) }
                == "EXECUTION_FAIL_RATE: '2' is not a fraction from 0 to 1")
    }

    @Test func chat() throws {
        let defaults = try ChatConfiguration(reader: reader([:]))
        #expect(defaults.messageBurst == 20 && defaults.commandsPerSecond == 0.2 && defaults.roomsPerSecond == 0.1)
        #expect(defaults.maxQueuedPosts == 4096)
        let read = try ChatConfiguration(reader: reader([
            "messageBurst": "2", "messageRate": "3", "commandBurst": "4", "commandRate": "5", "roomBurst": "6", "roomRate": "7",
            "maxQueuedPosts": "8",
        ]))
        #expect(read.messageBurst == 2 && read.messagesPerSecond == 3 && read.commandBurst == 4)
        #expect(read.commandsPerSecond == 5 && read.roomBurst == 6 && read.roomsPerSecond == 7)
        #expect(read.maxQueuedPosts == 8)
        #expect(refusal { _ = try ChatConfiguration(reader: reader(["roomBurst": "0"])) }
                == "ROOM_BURST: '0' is not a whole number from 1 to 10000")
        #expect(refusal { _ = try ChatConfiguration(reader: reader(["maxQueuedPosts": "0"])) }
                == "MAX_QUEUED_POSTS: '0' is not a whole number from 1 to 100000")
    }

    @Test func fastCGI() throws {
        let defaults = try FastCGIConfiguration(reader: reader([:]))
        #expect(defaults.listen == .inherited && defaults.socketGroup == nil && defaults.requestThreads == 4)
        let read = try FastCGIConfiguration(reader: reader([
            "fcgi.listen": "127.0.0.1:9000", "fcgi.socketGroup": "www-data", "fcgi.threads": "8",
            "maxBodyBytes": "1024", "maxHeldRequests": "5", "drainTimeout": "1",
        ]))
        #expect(read.listen == .tcp(host: "127.0.0.1", port: 9000) && read.socketGroup == "www-data" && read.requestThreads == 8)
        #expect(read.maxBodyBytes == 1024 && read.maxHeldRequests == 5 && read.drainTimeout == .seconds(1))
        #expect(refusal { _ = try FastCGIConfiguration(reader: reader(["fcgi.listen": "nowhere"])) }?
            .hasPrefix("FCGI_LISTEN: invalid listen address 'nowhere'") == true)
        #expect(refusal { _ = try FastCGIConfiguration(reader: reader(["fcgi.threads": "65"])) }
                == "FCGI_THREADS: '65' is not a whole number from 1 to 64")
    }

    @Test func theStockBot() throws {
        let defaults = try StockBotConfiguration(reader: reader([:]))
        #expect(defaults.database == .sqlite(path: "tradedesk.sqlite") && defaults.quoteURL == QuoteClient.defaultTemplate)
        #expect(defaults.concurrency == 8 && defaults.lease == 30 && defaults.totalTimeout == 10 && defaults.connectTimeout == 3)
        let read = try StockBotConfiguration(reader: reader([
            "database.path": "/tmp/db.sqlite", "stockbot.quoteUrl": "http://127.0.0.1/q?s={code}", "stockbot.maxAttempts": "2",
            "stockbot.retryBackoff": "0.2", "stockbot.lease": "5", "stockbot.timeout": " 2 ", "stockbot.concurrency": "64",
        ]))
        #expect(read.database == .sqlite(path: "/tmp/db.sqlite") && read.quoteURL == "http://127.0.0.1/q?s={code}")
        #expect(read.maxAttempts == 2 && read.retryBackoff == 0.2 && read.lease == 5 && read.concurrency == 64)
        #expect(read.totalTimeout == 2 && read.connectTimeout == 2, "the connect timeout fits in the whole request's")

        #expect(refusal { _ = try StockBotConfiguration(reader: reader(["stockbot.concurrency": "abc"])) }
                == "STOCKBOT_CONCURRENCY must be a number, not 'abc'")
        #expect(refusal { _ = try StockBotConfiguration(reader: reader(["stockbot.concurrency": "65"])) }
                == "STOCKBOT_CONCURRENCY must be 1 to 64 (quotes fetched at once), not 65")
        #expect(refusal { _ = try StockBotConfiguration(reader: reader(["stockbot.lease": "-1"])) }
                == "STOCKBOT_LEASE must be 1 to 3600 seconds")
        #expect(refusal { _ = try StockBotConfiguration(reader: reader(["stockbot.quoteUrl": "http://q/"])) }
                == "STOCKBOT_QUOTE_URL must contain {code}: http://q/")
        #expect(refusal { _ = try StockBotConfiguration(reader: reader(["stockbot.timeout": "1\nforged log line"])) }
                == "STOCKBOT_TIMEOUT must be a number, not '1forged log line'")
    }

    @Test func theResponderReadsEveryPart() throws {
        let read = try ResponderConfiguration(reader: reader([
            "database.path": "/tmp/x.sqlite", "fcgi.listen": "unix:/tmp/x.sock", "maxHeldPerUser": "3",
            "registration": "open", "batchSize": "2", "executionFaults": "hang", "roomBurst": "1", "executionTimeout": "30",
        ]))
        #expect(read.database == .sqlite(path: "/tmp/x.sqlite") && read.fastCGI.listen == .unix(path: "/tmp/x.sock") && read.maxHeldPerUser == 3)
        #expect(read.accounts.registrationOpen && read.orders.batchSize == 2 && read.execution.faults == [.hang] && read.chat.roomBurst == 1)
        #expect(read.fastCGI.drainTimeout == .seconds(32), "the drain outlasts an execution call")
        #expect(try ResponderConfiguration(reader: reader([:])).fastCGI.drainTimeout == .seconds(12))
        #expect(refusal { _ = try ResponderConfiguration(reader: reader(["maxHeldPerUser": "0"])) }
                == "MAX_HELD_PER_USER: '0' is not a whole number from 1 to 1000000")
    }

    /// `DATABASE_URL` selects PostgreSQL over `DATABASE_PATH`, for the responder and the bot alike,
    /// and what is shown of it never carries its password.
    @Test func theDatabase() throws {
        let url = "postgresql://desk:s3cret@db.example:5432/tradedesk?sslmode=verify-full&password=other"
        let settings: [AbsoluteConfigKey: ConfigValue] = ["database.path": "/tmp/x.sqlite", "database.url": .init(.string(url), isSecret: true)]
        #expect(try DatabaseLocation(reader: reader(settings)) == .postgres(url: url))
        #expect(try StockBotConfiguration(reader: reader(settings)).database == .postgres(url: url))
        #expect(try ResponderConfiguration(reader: reader(settings)).database == .postgres(url: url))
        let shown = "\(DatabaseLocation.postgres(url: url))"
        #expect(shown == "postgresql://desk:***@db.example:5432/tradedesk?sslmode=verify-full&password=***")
        #expect("\(DatabaseLocation.postgres(url: "postgresql:///tradedesk?host=/run/postgresql"))" == "postgresql:///tradedesk?host=/run/postgresql")
        #expect(refusal { _ = try DatabaseLocation(reader: reader(["database.url": "mysql://db/x"])) }
                == "DATABASE_URL must be a postgresql:// URI (libpq's form)")
    }

    @Test func theLogLevel() throws {
        #expect(try LogSetup.level(reader: reader([:])) == .info)
        #expect(try LogSetup.level(reader: reader(["logLevel": "notice"])) == .notice)
        #expect(refusal { _ = try LogSetup.level(reader: reader(["logLevel": "loud"])) }
                == "LOG_LEVEL: 'loud' is not one of trace, debug, info, notice, warning, error, critical")
    }

    /// A typed value is read as its text, and checked as strictly.
    @Test func aTypedValueIsReadToo() throws {
        let read = try OrdersConfiguration(reader: reader(["batchSize": 7, "orderRate": 2.5, "batchLinger": 1]))
        #expect(read.batchSize == 7 && read.ordersPerSecond == 2.5 && read.batchLinger == .seconds(1))
        #expect(refusal { _ = try OrdersConfiguration(reader: reader(["batchSize": 0])) }
                == "BATCH_SIZE: '0' is not a whole number from 1 to 10000")
        #expect(refusal { _ = try AccountsConfiguration(reader: reader(["registration": true])) }
                == "REGISTRATION: 'true' is neither open nor closed")
    }

    /// `BATCH_LINGER=` in an environment file is no setting, not a bad one.
    @Test func anEmptyValueIsUnset() throws {
        let read = try ResponderConfiguration(reader: reader(["batchLinger": "", "batchSize": "", "fcgi.listen": ""]))
        #expect(read.orders.batchLinger == nil && read.orders.batchSize == 10 && read.fastCGI.listen == .inherited)
    }
}
