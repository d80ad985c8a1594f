import Foundation
@testable import Orders
import Testing

struct PriceTests {
    @Test(arguments: [("0.1", 100_000, "0.1"), ("1.000001", 1_000_001, "1.000001"), ("123456.5", 123_456_500_000, "123456.5"),
                      ("1.0842", 1_084_200, "1.0842"), ("3", 3_000_000, "3"), ("1.100000", 1_100_000, "1.1"),
                      ("1000000000", 1_000_000_000_000_000, "1000000000")])
    func keepsDecimalsExact(text: String, micros: Int64, printed: String) throws {
        let price = try Price(Decimal(string: text)!)
        #expect(price.micros == micros)
        #expect(price.description == printed)
        #expect(price.decimal == Decimal(string: text)!)
    }

    @Test(arguments: [("0", PriceError.notPositive), ("-1", .notPositive), ("-0", .notPositive), ("1.1234567", .tooManyDigits),
                      ("0.0000001", .tooManyDigits), ("1000000000.000001", .tooLarge), ("1e30", .tooLarge)])
    func refusesBadPrices(text: String, error: PriceError) {
        #expect(throws: error) { try Price(Decimal(string: text)!) }
    }
}
