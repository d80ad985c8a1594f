/// How far a database's schema is migrated: what the health check reports, and its proof that the
/// database can be read.
public protocol SchemaStatus: Sendable {
    /// Identifiers of the migrations applied, oldest first; throws when the database cannot be read.
    func appliedMigrations() throws -> [String]
}
