import Accounts
import Chat
import FastCGI
import Foundation
import Orders

/// Everything `tradedesk serve` can be told, from flags or the environment (flags win).
/// Durations are seconds (decimals allowed).
public struct ResponderConfiguration: Sendable {
    public var databasePath: String
    public var fastCGI: FastCGIConfiguration
    public var accounts = AccountsConfiguration()
    public var orders = OrdersConfiguration()
    public var execution = MockExecutionServer()
    public var chat = ChatConfiguration()
    /// Requests one user may have held at once: orders waiting for their batch and long-polls
    /// (`MAX_HELD_PER_USER`, default 32: a few browser tabs, each with a long-poll, plus a script
    /// filling a batch or two on its own). Past it that user gets 429; everyone else is served.
    public var maxHeldPerUser = 32

    /// Environment variable → what it sets. The README's configuration table lists the same.
    public enum Variable: String, CaseIterable, Sendable {
        case databasePath = "DATABASE_PATH"
        case listen = "FCGI_LISTEN"
        case socketGroup = "FCGI_SOCKET_GROUP"
        case requestThreads = "FCGI_THREADS"
        case maxBodyBytes = "MAX_BODY_BYTES"
        case maxHeldRequests = "MAX_HELD_REQUESTS"
        case maxHeldPerUser = "MAX_HELD_PER_USER"
        case drainTimeout = "DRAIN_TIMEOUT"
        case registration = "REGISTRATION"
        case sessionIdleTimeout = "SESSION_IDLE_TIMEOUT"
        case sessionMaxAge = "SESSION_MAX_AGE"
        case passwordHashThreads = "PASSWORD_HASH_THREADS"
        case credentialCacheLifetime = "CREDENTIAL_CACHE_LIFETIME"
        case credentialCacheSize = "CREDENTIAL_CACHE_SIZE"
        case maxTokensPerUser = "MAX_TOKENS_PER_USER"
        case maxSessionsPerUser = "MAX_SESSIONS_PER_USER"
        case loginFailures = "LOGIN_FAILURES"
        case loginFailuresAcrossAddresses = "LOGIN_FAILURES_ACROSS_ADDRESSES"
        case batchSize = "BATCH_SIZE"
        case orderBurst = "ORDER_BURST"
        case orderRate = "ORDER_RATE"
        case orderTimeout = "ORDER_TIMEOUT"
        case batchLinger = "BATCH_LINGER"
        case executionTimeout = "EXECUTION_TIMEOUT"
        case outcomeDurabilityTimeout = "OUTCOME_DURABILITY_TIMEOUT"
        case executionLatency = "EXECUTION_LATENCY_MS"
        case executionRejectAbove = "EXECUTION_REJECT_ABOVE"
        case executionFailRate = "EXECUTION_FAIL_RATE"
        case executionFaults = "EXECUTION_FAULTS"
        case messageBurst = "MESSAGE_BURST"
        case messageRate = "MESSAGE_RATE"
        case commandBurst = "COMMAND_BURST"
        case commandRate = "COMMAND_RATE"
        case roomBurst = "ROOM_BURST"
        case roomRate = "ROOM_RATE"
    }

    public init(databasePath: String, fastCGI: FastCGIConfiguration) {
        self.databasePath = databasePath
        self.fastCGI = fastCGI
    }

    /// Reads the variables; anything missing keeps its default. Throws naming a bad value.
    public init(environment: [String: String]) throws(ConfigurationError) {
        func value(_ variable: Variable) -> String? {
            environment[variable.rawValue].flatMap { $0.isEmpty ? nil : $0 }
        }
        databasePath = value(.databasePath) ?? "tradedesk.sqlite"
        do {
            fastCGI = FastCGIConfiguration(listen: try ListenAddress(parsing: value(.listen) ?? "inherit"))
        } catch {
            throw ConfigurationError(variable: Variable.listen.rawValue, message: error.description)
        }
        fastCGI.socketGroup = value(.socketGroup)
        if let text = value(.requestThreads) { fastCGI.requestThreads = try Self.integer(text, .requestThreads, in: 1...64) }
        if let text = value(.maxBodyBytes) { fastCGI.maxBodyBytes = try Self.integer(text, .maxBodyBytes, in: 1...(16 << 20)) }
        if let text = value(.maxHeldRequests) { fastCGI.maxHeldRequests = try Self.integer(text, .maxHeldRequests, in: 1...1_000_000) }
        if let text = value(.maxHeldPerUser) { maxHeldPerUser = try Self.integer(text, .maxHeldPerUser, in: 1...1_000_000) }
        if let text = value(.drainTimeout) { fastCGI.drainTimeout = try Self.seconds(text, .drainTimeout) }
        switch value(.registration) {
        case nil, "closed": accounts.registrationOpen = false
        case "open": accounts.registrationOpen = true
        case let other?: throw ConfigurationError(variable: Variable.registration.rawValue, message: "'\(other)' is neither open nor closed")
        }
        if let text = value(.sessionIdleTimeout) { accounts.sessionIdleTimeout = try Self.seconds(text, .sessionIdleTimeout) }
        if let text = value(.sessionMaxAge) { accounts.sessionMaxAge = try Self.seconds(text, .sessionMaxAge) }
        if let text = value(.credentialCacheLifetime) {
            accounts.credentialCacheLifetime = try Self.seconds(text, .credentialCacheLifetime)
        }
        if let text = value(.passwordHashThreads) { accounts.passwordHashThreads = try Self.integer(text, .passwordHashThreads, in: 1...16) }
        if let text = value(.credentialCacheSize) {
            accounts.credentialCacheCapacity = try Self.integer(text, .credentialCacheSize, in: 1...10_000_000)
        }
        if let text = value(.maxTokensPerUser) { accounts.maxTokensPerUser = try Self.integer(text, .maxTokensPerUser, in: 1...10_000) }
        if let text = value(.maxSessionsPerUser) { accounts.maxSessionsPerUser = try Self.integer(text, .maxSessionsPerUser, in: 1...10_000) }
        if let text = value(.loginFailures) { accounts.throttle.freeFailures = try Self.integer(text, .loginFailures, in: 1...10_000) }
        if let text = value(.loginFailuresAcrossAddresses) {
            accounts.throttle.freeFailuresAcrossAddresses = try Self.integer(text, .loginFailuresAcrossAddresses, in: 1...1_000_000)
        }

        if let text = value(.batchSize) { orders.batchSize = try Self.integer(text, .batchSize, in: 1...10_000) }
        if let text = value(.orderBurst) { orders.orderBurst = try Self.integer(text, .orderBurst, in: 1...1_000_000) }
        if let text = value(.orderRate) { orders.ordersPerSecond = try Self.rate(text, .orderRate) }
        if let text = value(.orderTimeout) { orders.orderTimeout = try Self.seconds(text, .orderTimeout) }
        if let text = value(.batchLinger) {
            let linger = try Self.seconds(text, .batchLinger)
            orders.batchLinger = linger > .zero ? linger : nil
        }
        if let text = value(.executionTimeout) { orders.executionTimeout = try Self.seconds(text, .executionTimeout) }
        if let text = value(.outcomeDurabilityTimeout) {
            orders.outcomeDurabilityTimeout = try Self.seconds(text, .outcomeDurabilityTimeout)
        }
        if let text = value(.executionLatency) {
            execution.latency = .milliseconds(try Self.integer(text, .executionLatency, in: 0...3_600_000))
        }
        if let text = value(.executionRejectAbove) {
            guard let decimal = Decimal(string: text), let price = try? Price(decimal) else {
                throw ConfigurationError(variable: Variable.executionRejectAbove.rawValue, message: "'\(text)' is not a positive price")
            }
            execution.rejectAbove = price
        }
        if let text = value(.executionFailRate) {
            guard let rate = Double(text), (0...1).contains(rate) else {
                throw ConfigurationError(variable: Variable.executionFailRate.rawValue, message: "'\(text)' is not a fraction from 0 to 1")
            }
            execution.failRate = rate
        }
        if let text = value(.executionFaults) {
            execution.faults = try text.split(separator: ",", omittingEmptySubsequences: false).map { word throws(ConfigurationError) in
                let name = word.trimmingCharacters(in: .whitespaces)
                guard let fault = MockExecutionServer.Fault(rawValue: name) else {
                    throw ConfigurationError(variable: Variable.executionFaults.rawValue,
                                             message: "'\(name)' is not a fault; use a comma-separated list of fail and hang")
                }
                return fault
            }
        }
        if let text = value(.messageBurst) { chat.messageBurst = try Self.integer(text, .messageBurst, in: 1...10_000) }
        if let text = value(.messageRate) { chat.messagesPerSecond = try Self.rate(text, .messageRate) }
        if let text = value(.commandBurst) { chat.commandBurst = try Self.integer(text, .commandBurst, in: 1...10_000) }
        if let text = value(.commandRate) { chat.commandsPerSecond = try Self.rate(text, .commandRate) }
        if let text = value(.roomBurst) { chat.roomBurst = try Self.integer(text, .roomBurst, in: 1...10_000) }
        if let text = value(.roomRate) { chat.roomsPerSecond = try Self.rate(text, .roomRate) }
        // Batches already sent get to finish at shutdown: the drain lasts past the execution timeout.
        fastCGI.drainTimeout = max(fastCGI.drainTimeout, orders.executionTimeout + .seconds(2))
    }

    static func integer(_ text: String, _ variable: Variable, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError(variable: variable.rawValue,
                                     message: "'\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// Per second, above 0.
    static func rate(_ text: String, _ variable: Variable) throws(ConfigurationError) -> Double {
        guard let rate = Double(text), rate > 0, rate <= 1_000_000 else {
            throw ConfigurationError(variable: variable.rawValue, message: "'\(text)' is not a rate per second above 0")
        }
        return rate
    }

    /// Seconds, decimals allowed (`0.25`).
    static func seconds(_ text: String, _ variable: Variable) throws(ConfigurationError) -> Duration {
        guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds <= 366 * 86_400 else {
            throw ConfigurationError(variable: variable.rawValue, message: "'\(text)' is not a number of seconds")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let variable: String
    public let message: String
    public var description: String { "\(variable): \(message)" }
}
