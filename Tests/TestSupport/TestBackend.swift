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
