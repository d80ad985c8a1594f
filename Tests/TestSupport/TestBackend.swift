import Foundation

/// The storage backends a test runs on: SQLite, the embedded default, and PostgreSQL (a real
/// server the tests start, `PostgresServer.shared`). A storage-facing test takes one as its
/// argument, so that one test covers both:
///
/// ```swift
/// @Test(arguments: TestBackend.all)
/// func aRoomsMessagesPageInOrder(_ backend: TestBackend) throws {
///     let stack = try ResponderStack.tradedesk(backend: backend)
///     defer { stack.stop() }
///     ...
/// }
/// ```
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    /// Every backend, for `@Test(arguments:)`.
    public static let all: [TestBackend] = allCases

    public var description: String { rawValue }
}

extension TestBackend {
    /// The backend of the end-to-end suites (a responder behind nginx, the bot, the CLI): SQLite,
    /// unless `TRADEDESK_TEST_BACKEND=postgres`, with which deploy/test.sh runs them once more.
    public static let endToEnd: TestBackend =
        ProcessInfo.processInfo.environment["TRADEDESK_TEST_BACKEND"].flatMap(TestBackend.init(rawValue:)) ?? .sqlite
}
