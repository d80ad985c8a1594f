import Configuration
import Orders
import ProcessSupport
import Testing

/// Flags ahead of the environment in one reader, and the checks ArgumentParser no longer makes.
struct CommandLineSettingsTests {
    func orders(_ arguments: [String], _ environment: [String: String] = [:]) throws -> OrdersConfiguration {
        try CommandLineSettings(arguments: arguments, environment: environment).read { reader throws(ConfigurationError) in
            try OrdersConfiguration(reader: reader)
        }
    }

    @Test func aFlagWinsOverItsVariable() throws {
        #expect(try orders([], ["BATCH_SIZE": "7"]).batchSize == 7)
        #expect(try orders(["--batch-size", "2"], ["BATCH_SIZE": "7"]).batchSize == 2)
        #expect(try orders(["--batch-size=3", "--order-rate", "0.5"]).ordersPerSecond == 0.5)
    }

    @Test func aBadValueNamesTheVariableAndTheFlagItCameFrom() {
        #expect(throws: ConfigurationError.self) { try orders([], ["BATCH_SIZE": "banana"]) }
        do {
            _ = try orders([], ["BATCH_SIZE": "banana"])
        } catch {
            #expect("\(error)" == "BATCH_SIZE: 'banana' is not a whole number from 1 to 10000")
        }
        do {
            _ = try orders(["--batch-size", "banana"], ["BATCH_SIZE": "7"])
        } catch {
            #expect("\(error)" == "BATCH_SIZE: 'banana' is not a whole number from 1 to 10000 (given as --batch-size)")
        }
    }

    /// The command-line provider splits a value at commas; a list reads the same from a flag.
    @Test func aListReadsTheSameFromAFlag() throws {
        let faults = try CommandLineSettings(arguments: ["--execution-faults", "fail,hang"]).read { reader throws(ConfigurationError) in
            try MockExecutionServer(reader: reader).faults
        }
        #expect(faults == [.fail, .hang])
    }

    @Test(arguments: [
        (["--bach-size", "3"], "Unknown option '--bach-size'"),
        (["--batch-size"], "Missing value for '--batch-size'"),
        (["--batch-size", "--order-rate", "1"], "Missing value for '--batch-size'"),
        (["stray"], "Unexpected argument 'stray'"),
        (["--batch-size", "1", "2"], "Unexpected argument '2'"),
    ])
    func anArgumentNoSettingTakesIsRefused(_ arguments: [String], _ message: String) {
        do {
            _ = try orders(arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            #expect(error is ArgumentError && "\(error)" == message, "\(error)")
        }
    }

    /// Flags shorter than their variable are mapped, for the command line only.
    @Test func aShortFlagReadsItsKey() throws {
        let settings = CommandLineSettings(arguments: ["--threads", "9"], environment: ["FCGI_THREADS": "3"]) { key in
            key == "fcgi.threads" ? "threads" : key
        }
        #expect(try settings.read { reader throws(ConfigurationError) in try reader.wholeNumber(forKey: "fcgi.threads", in: 1...64) } == 9)
        #expect(throws: ArgumentError.self) {
            try CommandLineSettings(arguments: ["--fcgi-threads", "9"]) { $0 == "fcgi.threads" ? "threads" : $0 }.read {
                reader throws(ConfigurationError) in try reader.wholeNumber(forKey: "fcgi.threads", in: 1...64)
            }
        }
    }

    /// A command's help lists what it reads and nothing else.
    @Test func theHelpListsWhatACommandReads() {
        let help = CommandLineSettings.help { reader throws(ConfigurationError) in try OrdersConfiguration(reader: reader) }
        #expect(help.contains("--batch-size") && help.contains("BATCH_SIZE") && help.contains("OUTCOME_DURABILITY_TIMEOUT"))
        #expect(!help.contains("REGISTRATION") && !help.contains("DATABASE_PATH"))
    }
}
