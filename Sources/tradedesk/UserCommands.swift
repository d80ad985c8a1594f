import Accounts
import ArgumentParser
import Configuration
import Foundation
import ProcessSupport
import Storage
import TradedeskApp

/// The accounts in the responder's database, with its schema up to date, and what `body` reads of
/// the settings besides the database's location (nothing else: a bad `BATCH_SIZE` stops no admin command).
func openAccounts<Value>(_ settings: Settings, reading body: (ConfigReader) throws(ConfigurationError) -> Value)
    throws -> (store: any AccountStore, Value) {
    let (location, value) = try settings.read { reader throws(ConfigurationError) in
        (try DatabaseLocation(reader: reader), try body(reader))
    }
    return (try Stores.open(location).accounts, value)
}

func openAccounts(_ settings: Settings) throws -> (store: any AccountStore, Void) {
    try openAccounts(settings) { _ in }
}

/// The help of the commands that read only the database's location.
let databaseSettingsHelp = Settings.help { reader throws(ConfigurationError) in try DatabaseLocation(reader: reader) }

struct Users: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users.", subcommands: [Add.self, List.self, Delete.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user. The password is read from a prompt, or from the first line of stdin when it is not a terminal.",
            discussion: databaseSettingsHelp)
        @Argument(help: "3–32 characters of letters, digits, '_', '.' or '-'.") var name: String
        @OptionGroup var settings: Settings

        func run() throws {
            let store = try openAccounts(settings).store
            try check { () throws(CredentialRules.Violation) in try CredentialRules.checkUsername(name) }
            guard !CredentialRules.isReserved(name) else { throw ValidationError("username '\(name)' is reserved") }
            let password = try PasswordInput.read()
            try check { () throws(CredentialRules.Violation) in try CredentialRules.checkPassword(password) }
            do {
                let user = try store.createUser(username: name, passwordHash: PasswordHasher.hash(password))
                print("added \(user.username)")
            } catch AccountStoreError.usernameTaken {
                throw ValidationError("username '\(name)' is taken")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with their token counts.", discussion: databaseSettingsHelp)
        @OptionGroup var settings: Settings

        func run() throws {
            for (user, tokens) in try openAccounts(settings).store.usersWithTokenCounts() {
                print("\(user.username)\tcreated \(user.createdAt.formatted(.iso8601))\t\(tokens) token(s)")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user with their sessions and tokens (a running responder stops accepting them within CREDENTIAL_CACHE_LIFETIME, 10 s).",
            discussion: databaseSettingsHelp)
        @Argument var name: String
        @OptionGroup var settings: Settings

        func run() throws {
            guard try openAccounts(settings).store.deleteUser(named: name) else { throw ValidationError("no user '\(name)'") }
            print("deleted \(name)")
        }
    }
}

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API token for a user and print it (shown once).",
            discussion: Settings.help { reader throws(ConfigurationError) in
                (try DatabaseLocation(reader: reader), try AccountsConfiguration.maxTokensPerUser(reader: reader))
            })
        @Argument(help: "The user.") var name: String
        @Option(help: "A label for the token.") var label = "api token"
        @OptionGroup var settings: Settings

        func run() throws {
            let (store, maxTokensPerUser) = try openAccounts(settings, reading: AccountsConfiguration.maxTokensPerUser(reader:))
            guard let user = try store.user(named: name) else { throw ValidationError("no user '\(name)'") }
            do {
                print(try store.createToken(userID: user.id!, name: label, limit: maxTokensPerUser).secret)
            } catch AccountStoreError.tooManyTokens(let limit) {
                throw ValidationError("'\(name)' holds \(limit) tokens, the most a user may (MAX_TOKENS_PER_USER); revoke one first")
            }
        }
    }
}

/// Turns a broken rule into a command-line error, in the rule's own words.
func check(_ rule: () throws(CredentialRules.Violation) -> Void) throws {
    do { try rule() } catch { throw ValidationError(error.description) }
}

/// Reads a password without echo from a terminal, or a line from stdin.
enum PasswordInput {
    static func read() throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on stdin") }
            return line
        }
        let first = try prompt("Password: ")
        guard try prompt("Again: ") == first else { throw ValidationError("the passwords differ") }
        return first
    }

    private static func prompt(_ text: String) throws -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password given") }
        return line
    }
}
