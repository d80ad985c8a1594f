// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "tradedesk",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tradedesk", targets: ["tradedesk"]),
        .executable(name: "stockbot", targets: ["stockbot"]),
        // For the libFuzzer package in fuzz/ (fuzz/libfuzzer.sh), which depends on this one by path.
        .library(name: "HTTP", targets: ["HTTP"]),
        .library(name: "Orders", targets: ["Orders"]),
        .library(name: "TradedeskApp", targets: ["TradedeskApp"]),
        .library(name: "StockBot", targets: ["StockBot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Heap for the long-polls' deadlines, Deque for the FIFO queues (orders, outcome deadlines, pool jobs).
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // Base64url of the secrets in API tokens and session cookies.
        .package(url: "https://github.com/swift-extras/swift-extras-base64", from: "1.2.0"),
        // Typed HTTP methods, statuses (with their reason phrases) and header fields; no NIO.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // stooq's quote CSV, with quoted fields.
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        // Settings from the environment and the command line, read once into each module's
        // configuration (`init(reader:)`). Only the command-line provider's trait: no JSON or YAML files.
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["CommandLineArguments"]),
    ],
    targets: [
        // C libraries from Debian.
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Linux calls Swift cannot make directly (epoll, eventfd, thread names).
        .systemLibrary(name: "CLinux"),

        // A lock ThreadSanitizer can see (see Locked.swift for why not Synchronization.Mutex).
        .target(name: "Locking"),
        // Per-key rate limits and bounded tables, for what the responder keeps in memory per user or address.
        .target(name: "Limits", dependencies: ["Locking", "ProcessSupport"]),
        // What both executables need as processes: shutdown signals taken by sigwait, logs to stderr,
        // threads of their own for blocking work, settings read strictly from flags and the environment.
        .target(name: "ProcessSupport", dependencies: [
            "CLinux", "Locking", .product(name: "Logging", package: "swift-log"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        // The FastCGI core: listening, accepting, holding and answering requests. Knows nothing of HTTP routes.
        .target(name: "FastCGI", dependencies: [
            "CFastCGI", "CLinux", "Locking", "ProcessSupport",
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // Routing, request parsing, JSON and errors over FastCGI params.
        .target(name: "HTTP", dependencies: [
            "FastCGI",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // The SQLite database file shared by the responder and the bot.
        .target(name: "Storage", dependencies: [
            "ProcessSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        // PostgreSQL, the second backend, through libpq: a pool of connections, prepared statements,
        // binary rows, migrations, and LISTEN/NOTIFY as a `ChangeWatch`.
        .target(name: "Postgres", dependencies: [
            "CPostgres", "Locking", "ProcessSupport", "Storage", .product(name: "Logging", package: "swift-log"),
        ]),
        // Users, browser sessions and API tokens.
        .target(name: "Accounts", dependencies: [
            "CSodium", "Limits", "Postgres", "Storage", "Locking", "ProcessSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        // The order gateway: batching, the execution server, the order history.
        .target(name: "Orders", dependencies: [
            "Limits", "Postgres", "Storage", "Locking", "ProcessSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        // The job table shared by the responder and the stock bot: the chat's message broker.
        .target(name: "JobQueue", dependencies: [
            "Postgres", "Storage", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
        ]),
        // Chat rooms, messages, long-polls, commands as jobs, delivery of the bot's replies.
        .target(name: "Chat", dependencies: [
            "JobQueue", "Limits", "Postgres", "Storage", "Locking", "ProcessSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        // The responder application: configuration, the routes of every module, and the one adapter
        // from domain errors to HTTP answers.
        .target(name: "TradedeskApp", dependencies: [
            "FastCGI", "HTTP", "Postgres", "Storage", "Accounts", "Orders", "Chat", "JobQueue", "Locking",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            "ProcessSupport", .product(name: "Configuration", package: "swift-configuration"),
        ]),
        // The stock bot worker.
        .target(name: "StockBot", dependencies: [
            "CCurl", "JobQueue", "Postgres", "Storage", "ProcessSupport", "Locking",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CSV", package: "CSV.swift"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),

        // Thin executables.
        .executableTarget(name: "tradedesk", dependencies: [
            "TradedeskApp", "Accounts", "Storage", "ProcessSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        .executableTarget(name: "stockbot", dependencies: [
            "StockBot", "ProcessSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),

        // Test support: real nginx, real processes, raw HTTP over loopback sockets; GRDB to look into a stack's SQLite file.
        .target(name: "TestSupport", dependencies: [.product(name: "GRDB", package: "GRDB.swift")], path: "Tests/TestSupport"),
        // Runs requests through a router in process, with no server: answers, held ones included.
        .target(name: "HTTPTesting", dependencies: ["HTTP", "FastCGI", "Locking"], path: "Tests/HTTPTesting"),
        // A FastCGI responder with routes that exercise holding, used only by the core's tests.
        .executableTarget(name: "fastcgi-fixture", dependencies: [
            "FastCGI", "HTTP", "Locking", "ProcessSupport", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/FastCGIFixture"),

        .testTarget(name: "FastCGITests", dependencies: [
            "FastCGI", "TestSupport", "fastcgi-fixture", .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .testTarget(name: "LockingTests", dependencies: ["Locking"]),
        .testTarget(name: "LimitsTests", dependencies: ["Limits"]),
        .testTarget(name: "ProcessSupportTests", dependencies: ["ProcessSupport", "Locking"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "HTTPTesting"]),
        .testTarget(name: "StockBotTests", dependencies: [
            "StockBot", "JobQueue", "Postgres", "Storage", "TestSupport", "tradedesk", "stockbot", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "ChatTests", dependencies: [
            "Chat", "JobQueue", "Postgres", "Storage", "TestSupport", "tradedesk", "stockbot", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "HeapModule", package: "swift-collections"), .product(name: "Logging", package: "swift-log"),
        ], exclude: ["Browser"]),
        .testTarget(name: "JobQueueTests", dependencies: [
            "JobQueue", "Postgres", "Storage", "Locking", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "AccountsTests", dependencies: [
            "Accounts", "Postgres", "Storage", "TestSupport", "tradedesk", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "OrdersTests", dependencies: [
            "Orders", "Accounts", "Limits", "Postgres", "Storage", "Locking", "TestSupport", "tradedesk",
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ConfigurationTests", dependencies: [
            "Accounts", "Chat", "FastCGI", "Orders", "ProcessSupport", "StockBot", "Storage", "TradedeskApp",
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PostgresTests", dependencies: [
            "Postgres", "Storage", "Locking", "TestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "TradedeskAppTests", dependencies: [
            "TradedeskApp", "Accounts", "Chat", "FastCGI", "HTTP", "HTTPTesting", "Locking", "Orders", "Storage", "TestSupport", "tradedesk",
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
