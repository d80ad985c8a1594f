import Foundation

extension Date {
    /// How the API writes a time: ISO 8601 in UTC, to the millisecond (`2026-11-22T11:49:11.063Z`).
    public var apiTimestamp: String { formatted(Self.apiTimestampStyle) }

    private static let apiTimestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
