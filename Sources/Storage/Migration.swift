import GRDB

/// One versioned step of the schema. Each module owns its migrations; the application lists them in
/// order. Applied identifiers are recorded in `grdb_migrations`, so each step runs once per file,
/// and a step, once shipped, is never edited: a change is a new step.
public struct Migration: Sendable {
    public let identifier: String
    public let migrate: @Sendable (Database) throws -> Void

    public init(_ identifier: String, migrate: @escaping @Sendable (Database) throws -> Void) {
        self.identifier = identifier
        self.migrate = migrate
    }
}
