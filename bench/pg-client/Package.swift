// swift-tools-version: 6.1
import PackageDescription

// The measurement behind the PostgreSQL client library choice (issue 15): the same query path, the
// responder's session lookup and a session insert, from plain threads, through libpq and through
// postgres-nio. A package of its own so that the root package never resolves postgres-nio.
// Run: bench/pg-client/run.sh (it starts its own PostgreSQL 15, builds, runs both, prints a table).
let package = Package(
    name: "pg-client-bench",
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CLibpq", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // What both clients share: the SQL, the row, the threads and the statistics.
        .target(name: "PGClientBench"),
        .executableTarget(name: "pgclient-libpq", dependencies: ["PGClientBench", "CLibpq"]),
        .executableTarget(name: "pgclient-nio", dependencies: [
            "PGClientBench",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
