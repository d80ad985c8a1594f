import Foundation
@testable import HTTP
import Testing

/// `Date.apiTimestamp` is written by hand: these compare it with the format style it replaces.
struct APITimestampTests {
    static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    @Test func writesWhatTheFormatStyleWrites() {
        var dates = [0, -0.001, 0.001, 0.999, 1_800_000_000.123, 1_800_000_000.1229, 951_782_400, 951_868_799.999, // 2000-02-29
                     4_107_542_400, 253_402_300_799.999, -62_135_596_800, -1, 0.1229999999996, 1_800_000_000.9999999, 1_700_000_000.5, 1_234_567_890.0005]
            .map(Date.init(timeIntervalSince1970:))
        dates += (0..<20_000).map { _ in Date(timeIntervalSince1970: Double.random(in: 0...253_402_300_799)) }
        // Milliseconds as the database keeps them, near now.
        dates += (0..<20_000).map { _ in Date(timeIntervalSince1970: Double.random(in: 1_700_000_000...2_000_000_000)).toTheMillisecondForTest }
        for date in dates {
            #expect(date.apiTimestamp == date.formatted(Self.style), "\(date.timeIntervalSince1970)")
        }
        #expect(Date(timeIntervalSince1970: 1_700_000_000.5).apiTimestamp == "2023-11-14T22:13:20.500Z")
        // Outside 0001–9999, the format style answers.
        let far = Date(timeIntervalSince1970: 300_000_000_000)
        #expect(far.apiTimestamp == far.formatted(Self.style))
    }
}

extension Date {
    var toTheMillisecondForTest: Date { Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
}
