/// What a username and a password may be.
public enum CredentialRules {
    /// Reserved for the stock bot, which posts its replies under this name.
    public static let reservedUsernames: Set<String> = ["stockbot"]
    public static let usernameLength = 3...32
    public static let passwordLength = 8...256

    /// A username or password that breaks the rules; its description says which rule, as the
    /// command line prints it (`'username' must be …`).
    public enum Violation: Error, Sendable, Equatable, CustomStringConvertible {
        case username
        case password

        /// The field the rule is about.
        public var field: String {
            switch self {
            case .username: "username"
            case .password: "password"
            }
        }

        public var description: String {
            switch self {
            case .username: "'username' must be 3 to 32 characters of letters, digits, '_', '.' or '-'"
            case .password: "'password' must be 8 to 256 characters"
            }
        }
    }

    /// 3–32 characters of ASCII letters, digits, `_`, `.` and `-`.
    public static func checkUsername(_ name: String) throws(Violation) {
        guard usernameLength.contains(name.unicodeScalars.count),
              name.unicodeScalars.allSatisfy({ $0.isASCII && (isAlphanumeric($0) || "_.-".unicodeScalars.contains($0)) })
        else { throw .username }
    }

    public static func checkPassword(_ password: String) throws(Violation) {
        guard passwordLength.contains(password.unicodeScalars.count) else { throw .password }
    }

    public static func isReserved(_ name: String) -> Bool {
        reservedUsernames.contains(name.lowercased())
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
