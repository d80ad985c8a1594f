// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for what parses hostile input: the request parsing of the HTTP module (params,
// query, cookies, routing, JSON bodies) and the stock bot's parsers (the quote CSV, chat commands and
// the quote URL). Built and run by libfuzzer.sh with `-sanitize=fuzzer,address`. A package of its
// own so that the root package's `swift build` and `swift test` never see these targets.
//
// Each target is an executable whose main.swift starts libFuzzer's driver explicitly: SwiftPM links a
// Swift executable's entry point as `main` (it renames it so that tests can link the executable), so
// the `main` that `-sanitize=fuzzer` would otherwise bring in is never used.
let fuzzTargets: [(name: String, products: [String])] = [
    ("FuzzHTTPRequest", ["HTTP", "TradedeskApp"]),
    ("FuzzQuoteCSV", ["StockBot"]),
    ("FuzzBotCommand", ["StockBot"]),
]

// A path dependency's identity is its directory's name: the repository's checkout, whatever it is called.
let rootPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map { $0.lowercased() } ?? "tradedesk"

let package = Package(
    name: "tradedesk-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        // Declares LLVMFuzzerRunDriver for Swift.
        .target(name: "CLibFuzzer"),
    ] + fuzzTargets.map { target in
        .executableTarget(name: target.name, dependencies: ["CLibFuzzer"] + target.products.map {
            .product(name: $0, package: rootPackage)
        })
    },
    swiftLanguageModes: [.v6]
)
