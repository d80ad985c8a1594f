import HTTP

/// What a username and a password may be.
public enum CredentialRules {
    /// Reserved for the stock bot, which posts its replies under this name.
    public static let reservedUsernames: Set<String> = ["stockbot"]
    public static let usernameLength = 3...32
    public static let passwordLength = 8...256

    /// 3–32 characters of ASCII letters, digits, `_`, `.` and `-`.
    public static func checkUsername(_ name: String) throws(HTTPError) {
        guard usernameLength.contains(name.unicodeScalars.count),
              name.unicodeScalars.allSatisfy({ $0.isASCII && (isAlphanumeric($0) || "_.-".unicodeScalars.contains($0)) })
        else {
            throw .badRequest("field 'username' must be 3 to 32 characters of letters, digits, '_', '.' or '-'")
        }
    }

    public static func checkPassword(_ password: String) throws(HTTPError) {
        guard passwordLength.contains(password.unicodeScalars.count) else {
            throw .badRequest("field 'password' must be 8 to 256 characters")
        }
    }

    public static func isReserved(_ name: String) -> Bool {
        reservedUsernames.contains(name.lowercased())
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
