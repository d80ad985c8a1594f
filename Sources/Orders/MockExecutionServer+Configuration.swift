import Configuration
import Foundation
import ProcessSupport

extension MockExecutionServer {
    /// The mock with each of its settings `reader` has: `EXECUTION_LATENCY_MS`,
    /// `EXECUTION_REJECT_ABOVE`, `EXECUTION_FAIL_RATE` and `EXECUTION_FAULTS` (see the properties).
    ///
    /// - Throws: ``ConfigurationError`` naming the first setting that is set to a value it does
    ///   not allow, e.g. `EXECUTION_FAULTS: 'crash' is not a fault; use a comma-separated list of fail and hang`.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        self.init()
        if let milliseconds = try reader.wholeNumber(forKey: "executionLatencyMs", in: 0...3_600_000) {
            latency = .milliseconds(milliseconds)
        }
        if let text = reader.text(forKey: "executionRejectAbove") {
            guard let decimal = Decimal(string: text), let price = try? Price(decimal) else {
                throw ConfigurationError("executionRejectAbove", "'\(text)' is not a positive price")
            }
            rejectAbove = price
        }
        if let text = reader.text(forKey: "executionFailRate") {
            guard let rate = Double(text), (0...1).contains(rate) else {
                throw ConfigurationError("executionFailRate", "'\(text)' is not a fraction from 0 to 1")
            }
            failRate = rate
        }
        faults = try reader.list(forKey: "executionFaults")?.map { name throws(ConfigurationError) in
            guard let fault = Fault(rawValue: name) else {
                throw ConfigurationError("executionFaults", "'\(name)' is not a fault; use a comma-separated list of fail and hang")
            }
            return fault
        } ?? []
    }
}
