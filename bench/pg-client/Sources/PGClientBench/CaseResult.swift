import Foundation

/// One case's numbers, printed by the executables as a row of run.sh's markdown table.
public struct CaseResult: Sendable {
    public var client: String
    public var query: Options.Query
    public var threads: Int
    public var count: Int
    public var queriesPerSecond: Double
    public var p50Microseconds: Double
    public var p99Microseconds: Double
    public var peakRSSKiB: Int

    init(client: String, query: Options.Query, threads: Int, seconds: Double, sortedLatencies: [UInt64], peakRSSKiB: Int) {
        self.client = client
        self.query = query
        self.threads = threads
        count = sortedLatencies.count
        queriesPerSecond = Double(count) / seconds
        func percentile(_ p: Double) -> Double {
            guard !sortedLatencies.isEmpty else { return .nan }
            let index = min(sortedLatencies.count - 1, Int(Double(sortedLatencies.count) * p))
            return Double(sortedLatencies[index]) / 1000
        }
        p50Microseconds = percentile(0.50)
        p99Microseconds = percentile(0.99)
        self.peakRSSKiB = peakRSSKiB
    }

    /// The header that matches `markdownRow`.
    public static let markdownHeader = """
        | client | query | threads | queries/s | p50 µs | p99 µs | peak RSS MiB | queries timed |
        | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
        """

    public var markdownRow: String {
        let rss = String(format: "%.1f", Double(peakRSSKiB) / 1024)
        return "| \(client) | \(query) | \(threads) | \(Int(queriesPerSecond.rounded())) | "
            + "\(Int(p50Microseconds.rounded())) | \(Int(p99Microseconds.rounded())) | \(rss) | \(count) |"
    }
}

/// The process's own memory, from /proc.
public enum ProcessStatus {
    /// VmHWM: the most the process ever had resident, so that a peak between samples is not missed.
    public static func peakRSSKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}

/// The entry both executables share: parse, run, print the row (or the error, and exit 1).
public func benchMain(client: (Options) -> String,
                      connect: (Options) -> @Sendable (Int) throws -> any SessionQueries) -> Never {
    do {
        let options = try Options(Array(CommandLine.arguments.dropFirst()))
        let result = try Runner.run(options, client: client(options), connect: connect(options))
        print(result.markdownRow)
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("\(CommandLine.arguments[0]): \(error)\n".utf8))
        exit(1)
    }
}
