import Foundation

extension Date {
    /// The date cut to the millisecond: what the database keeps (GRDB stores dates as
    /// `YYYY-MM-DD HH:MM:SS.SSS`), so that a value held in memory and its stored copy agree.
    public var toTheMillisecond: Date {
        Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    public static var nowToTheMillisecond: Date { Date().toTheMillisecond }
}
