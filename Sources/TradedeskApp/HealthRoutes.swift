import FastCGI
import GRDB
import HTTP
import Storage

/// `GET /api/health`: 200 while the responder can answer and read its database, 503 otherwise.
enum HealthRoutes {
    struct Health: Encodable {
        let status: String
        let uptimeSeconds: Double
        let heldRequests: Int
        let requestsAccepted: Int
        let clientsGone: Int
        let database: String
        let schemaMigrations: Int

        enum CodingKeys: String, CodingKey {
            case status, database
            case uptimeSeconds = "uptime_seconds"
            case heldRequests = "held_requests"
            case requestsAccepted = "requests_accepted"
            case clientsGone = "clients_gone"
            case schemaMigrations = "schema_migrations"
        }
    }

    static func register(in router: inout Router, statistics: FastCGIStatistics, database: DatabasePool) {
        router.get("/api/health") { _ in
            let migrations = try? DatabaseFile.appliedMigrations(database).count
            let health = Health(
                status: migrations == nil ? "degraded" : "ok",
                uptimeSeconds: (statistics.uptime / .milliseconds(1)).rounded() / 1000,
                heldRequests: statistics.held,
                requestsAccepted: statistics.accepted,
                clientsGone: statistics.abandoned,
                database: migrations == nil ? "unavailable" : "ok",
                schemaMigrations: migrations ?? 0)
            return .json(health, status: migrations == nil ? 503 : 200)
        }
    }
}
