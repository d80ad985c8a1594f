import Configuration
import FastCGI
import Foundation
import Logging
import Testing
import TestSupport
@testable import TradedeskApp

/// The responder starts and stops in process, and every thread and descriptor it made is gone after.
@Suite(.serialized) struct ResponderLifecycleTests {
    let quiet = Logger(label: "lifecycle") { _ in SwiftLogNoOpLogHandler() }

    /// The settings as `tradedesk serve` would read them from these variables.
    func environment(_ variables: [String: String]) -> ConfigReader {
        ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: variables))
    }

    @Test func startingAndStoppingAHundredTimesLeavesNoThreadNorDescriptor() throws {
        let directory = try TemporaryDirectory("lifecycle")
        defer { directory.remove() }
        let configuration = try ResponderConfiguration(reader: environment([
            "DATABASE_PATH": directory.file("db.sqlite"), "FCGI_LISTEN": "unix:" + directory.file("fcgi.sock"),
        ]))
        // Once first: what a first run sets up for good (libfcgi's init, Dispatch's own descriptors).
        try serveOnce(configuration)
        let before = ProcessCounts.now()

        for run in 0..<100 {
            try serveOnce(configuration, run: run)
            #expect(ProcessCounts.ourThreads() == 0, "run \(run): \(ProcessCounts.ourThreadNames())")
        }
        // At most as many: the test process is shared, and an earlier test's descriptors may close
        // meanwhile; one leaked by each of 100 runs would show as 100 more.
        #expect(eventually { ProcessCounts.now().descriptors <= before.descriptors },
                "descriptors \(before.descriptors) before, \(ProcessCounts.now().descriptors) after: \(ProcessCounts.descriptorTargets())")
        #expect(eventually { ProcessCounts.now().threads <= before.threads },
                "threads \(before.threads) before, \(ProcessCounts.now().threads) after")
    }

    /// While the database cannot be opened the responder answers 503 and tries again every 2 s;
    /// no try leaves a service's thread behind, and once the database opens it serves.
    @Test func theStartUpRetryLeavesNothingBehindAndServesOnceTheDatabaseOpens() throws {
        let directory = try TemporaryDirectory("lifecycle")
        defer { directory.remove() }
        let folder = directory.file("later")
        let socket = directory.file("fcgi.sock")
        let configuration = try ResponderConfiguration(reader: environment([
            "DATABASE_PATH": folder + "/db.sqlite", "FCGI_LISTEN": "unix:" + socket,
        ]))
        let before = ProcessCounts.now()
        let responder = Responder(configuration: configuration, logger: quiet)
        try responder.start()
        #expect(try FastCGIProbe.get(socket: socket, path: "/api/health").status == 503)
        #expect(eventually { ProcessCounts.ourThreadNames().contains("database-retry") })
        let threadsWhileWaiting = ProcessCounts.ourThreadNames()
        #expect(!threadsWhileWaiting.contains { $0.hasPrefix("order-") || $0.hasPrefix("argon2") || $0 == "longpoll-timer" },
                "no service runs before the database opens: \(threadsWhileWaiting)")
        // Two failed tries, 2 s apart: the responder's threads stay the same.
        usleep(4_500_000)
        #expect(ProcessCounts.ourThreadNames() == threadsWhileWaiting)
        #expect(try FastCGIProbe.get(socket: socket, path: "/api/health").status == 503)

        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(eventually(timeout: .seconds(10)) { (try? FastCGIProbe.get(socket: socket, path: "/api/health").status) == 200 })
        #expect(ProcessCounts.ourThreadNames().contains("order-journal"))
        responder.shutdown()

        #expect(ProcessCounts.ourThreads() == 0, "\(ProcessCounts.ourThreadNames())")
        #expect(eventually { ProcessCounts.now().descriptors <= before.descriptors },
                "descriptors \(before.descriptors) before, \(ProcessCounts.now().descriptors) after: \(ProcessCounts.descriptorTargets())")
    }

    /// Starts a responder, asks it for its health over its socket, stops it.
    private func serveOnce(_ configuration: ResponderConfiguration, run: Int = -1) throws {
        let responder = Responder(configuration: configuration, logger: quiet)
        try responder.start()
        defer { responder.shutdown() }
        guard case .unix(let path) = configuration.fastCGI.listen else { throw TestFailure("not a unix socket") }
        let answer = try FastCGIProbe.get(socket: path, path: "/api/health")
        #expect(answer.status == 200, "run \(run): \(answer.text.prefix(300))")
    }
}

/// Threads and descriptors of this process, from /proc.
enum ProcessCounts {
    struct Counts { let threads: Int; let descriptors: Int }

    static func now() -> Counts {
        Counts(threads: entries("/proc/self/task").count, descriptors: entries("/proc/self/fd").count)
    }

    /// The responder's own threads, by the names it gives them.
    static func ourThreadNames() -> [String] {
        let prefixes = ["fcgi-", "order-", "argon2", "longpoll-timer", "reply-delivery", "database-retry"]
        return entries("/proc/self/task").compactMap { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
        }.filter { name in prefixes.contains { name.hasPrefix($0) } }.sorted()
    }

    static func ourThreads() -> Int { ourThreadNames().count }

    static func descriptorTargets() -> [String] {
        entries("/proc/self/fd").compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }.sorted()
    }

    private static func entries(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }
}

/// One FastCGI request over a unix socket, as nginx sends it, and the answer's status and text.
enum FastCGIProbe {
    struct Answer { let status: Int; let text: String }

    static func get(socket path: String, path uri: String) throws -> Answer {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        defer { close(fd) }
        let connected = withUnixAddress(path) { connect(fd, $0, $1) }
        guard connected == 0 else { throw TestFailure("connect \(path): \(errno)") }

        var params: [UInt8] = []
        for (name, value) in ["REQUEST_METHOD": "GET", "REQUEST_URI": uri, "DOCUMENT_URI": uri, "QUERY_STRING": "",
                              "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost"] {
            params += [UInt8(name.utf8.count), UInt8(value.utf8.count)] + Array(name.utf8) + Array(value.utf8)
        }
        let request = record(1, [0, 1, 0, 0, 0, 0, 0, 0]) + record(4, params) + record(4, []) + record(5, [])
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else {
            throw TestFailure("write: \(errno)")
        }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        // The STDOUT records' content, in order.
        var output: [UInt8] = []
        var offset = 0
        while offset + 8 <= received.count {
            let type = received[offset + 1]
            let length = Int(received[offset + 4]) << 8 | Int(received[offset + 5])
            let padding = Int(received[offset + 6])
            let start = offset + 8
            if type == 6, start + length <= received.count { output += received[start..<(start + length)] }
            offset = start + length + padding
        }
        let text = String(decoding: output, as: UTF8.self)
        let status = text.split(separator: "\r\n").first { $0.hasPrefix("Status: ") }
            .flatMap { Int($0.dropFirst(8).prefix(3)) } ?? 200
        return Answer(status: status, text: text)
    }

    private static func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xFF), 0, 0] + content
    }
}
