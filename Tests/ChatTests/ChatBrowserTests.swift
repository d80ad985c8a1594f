import Foundation
import Testing
import TestSupport

/// The seed's acceptance test in a real browser: two users in two headless Chromium sessions.
@Suite(.serialized)
struct ChatBrowserTests {
    @Test func twoUsersChatAndTheBotAnswersInBothWindows() throws {
        let quotes = try QuoteServer()
        defer { quotes.stop() }
        let stack = try ResponderStack.tradedesk(environment: ["REGISTRATION": "open"])
        defer { stack.stop() }
        let bot = try stack.stockbot(["--quote-url", quotes.urlTemplate])
        defer { bot.stop() }

        let artifacts = Paths.repository.appendingPathComponent(".test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent("chat.png").path
        try? FileManager.default.removeItem(atPath: screenshot)
        let script = Paths.repository.appendingPathComponent("Tests/ChatTests/Browser/two_users_chat.py").path
        let browser = try ChildProcess("/usr/bin/python3", [script, "http://127.0.0.1:\(stack.port)", screenshot],
                                       environment: ["SE_OFFLINE": "true"], logPath: stack.directory.file("browser.log"))
        let status = browser.wait(timeout: .seconds(180))
        if status == nil { browser.signal(SIGKILL) }
        #expect(status == 0, "browser test: \(browser.output)\nbot: \(bot.output)")
        #expect(FileManager.default.fileExists(atPath: screenshot), "the test saves a screenshot")
    }
}
