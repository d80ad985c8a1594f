import Configuration
import Foundation

/// Settings read strictly, with the texts every configuration's `init(reader:)` refuses a value in.
///
/// swift-configuration's own `int(forKey:)` and `int(forKey:default:)` answer nil or the default
/// for a value they cannot convert, so `BATCH_SIZE=ten` would be ignored without a word. These read
/// the text and throw a ``ConfigurationError`` that names the variable and what is allowed. A
/// setting given as nothing (`BATCH_LINGER=` in an environment file) is unset.
///
/// Keys are absolute: the readers handed to `init(reader:)` are not scoped, so that an error names
/// the variable its value came from.
extension ConfigReader {
    /// The setting as text, or nil when it is unset or empty.
    ///
    /// The command-line provider splits a flag's value at commas (`--execution-faults fail,hang`);
    /// the parts are joined again here, so a text reads the same from a flag as from a variable. A
    /// provider that types its values (an in-memory one, `"batchSize": 7`) gives them as text too,
    /// so that they are checked as strictly, not skipped as not being strings.
    public func text(forKey key: ConfigKey) -> String? {
        let texts: [() -> String?] = [
            { string(forKey: key) }, { stringArray(forKey: key)?.joined(separator: ",") },
            { int(forKey: key).map { "\($0)" } }, { double(forKey: key).map { "\($0)" } }, { bool(forKey: key).map { "\($0)" } },
        ]
        guard let text = texts.lazy.compactMap({ $0() }).first, !text.isEmpty else { return nil }
        return text
    }

    /// A comma-separated list, each item trimmed (`fail, hang`). Empty items are kept, for the
    /// caller to refuse.
    public func list(forKey key: ConfigKey) -> [String]? {
        text(forKey: key)?.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// A whole number in `range`: `'ten' is not a whole number from 1 to 10000`.
    public func wholeNumber(forKey key: ConfigKey, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = text(forKey: key) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError(AbsoluteConfigKey(key),
                                     "'\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// Seconds, decimals allowed (`0.25`), from 0 to a year; kept to the millisecond.
    public func seconds(forKey key: ConfigKey) throws(ConfigurationError) -> Duration? {
        guard let text = text(forKey: key) else { return nil }
        guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds <= 366 * 86_400 else {
            throw ConfigurationError(AbsoluteConfigKey(key), "'\(text)' is not a number of seconds")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// Events per second, above 0 and at most a million (`0.2` is one each 5 s).
    public func rate(forKey key: ConfigKey) throws(ConfigurationError) -> Double? {
        guard let text = text(forKey: key) else { return nil }
        guard let rate = Double(text), rate > 0, rate <= 1_000_000 else {
            throw ConfigurationError(AbsoluteConfigKey(key), "'\(text)' is not a rate per second above 0")
        }
        return rate
    }
}
