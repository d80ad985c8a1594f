// swift-tools-version: 6.0
import PackageDescription

// A micro-benchmark of a token's base64url (a 32-byte secret, 43 characters): the hand-written
// coder the Accounts module had, swift-extras-base64 with the canonical-form check Accounts now
// uses, and Foundation with string replacements. A package of its own so that the root package's
// build never sees it. Run: swift run -c release --package-path bench/base64
let package = Package(
    name: "base64bench",
    dependencies: [
        .package(url: "https://github.com/swift-extras/swift-extras-base64", from: "1.2.0"),
    ],
    targets: [
        .executableTarget(name: "base64bench", dependencies: [
            .product(name: "ExtrasBase64", package: "swift-extras-base64"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
