import Chat
import FastCGI
import HTTP
import Orders
import Storage

/// `GET /api/health`: 200 while the responder can answer and read its database, 503 otherwise.
/// While the order history cannot be written (a full disk, say) it is 200 and "degraded", and
/// `database` says why.
enum HealthRoutes {
    struct Health: Encodable {
        let status: String
        let uptimeSeconds: Double
        let heldRequests: Int
        let requestsAccepted: Int
        let connectionsAccepted: Int
        let requestsOnKeptConnections: Int
        let idleKeptConnections: Int
        let clientsGone: Int
        let database: String
        let schemaMigrations: Int
        let orders: OrderFigures
        let executionServer: String
        let longPolls: Int

        enum CodingKeys: String, CodingKey {
            case status, database
            case uptimeSeconds = "uptime_seconds"
            case heldRequests = "held_requests"
            case requestsAccepted = "requests_accepted"
            case connectionsAccepted = "connections_accepted"
            case requestsOnKeptConnections = "requests_on_kept_connections"
            case idleKeptConnections = "idle_kept_connections"
            case clientsGone = "clients_gone"
            case schemaMigrations = "schema_migrations"
            case orders
            case executionServer = "execution_server"
            case longPolls = "long_polls"
        }
    }

    struct OrderFigures: Encodable {
        let batchSize: Int
        let pending: Int
        let batchesInFlight: Int
        let batchesExecuted: Int
        let batchesFailed: Int
        let withdrawn: Int
        let outcomesNotRecorded: Int

        enum CodingKeys: String, CodingKey {
            case pending, withdrawn
            case outcomesNotRecorded = "outcomes_not_recorded"
            case batchSize = "batch_size"
            case batchesInFlight = "batches_in_flight"
            case batchesExecuted = "batches_executed"
            case batchesFailed = "batches_failed"
        }
    }

    static func register(in router: inout Router, statistics: FastCGIStatistics, schema: any SchemaStatus, gateway: OrderGateway, chat: ChatService) {
        router.get("/api/health") { _ in
            let migrations = try? schema.appliedMigrations().count
            let writeFault = gateway.historyFault
            let health = Health(
                status: migrations == nil || writeFault != nil ? "degraded" : "ok",
                uptimeSeconds: (statistics.uptime / .milliseconds(1)).rounded() / 1000,
                heldRequests: statistics.held,
                requestsAccepted: statistics.accepted,
                connectionsAccepted: statistics.connections,
                requestsOnKeptConnections: statistics.requestsOnKeptConnections,
                idleKeptConnections: statistics.idleKeptConnections,
                clientsGone: statistics.abandoned,
                database: migrations == nil ? "unavailable" : writeFault.map(String.init(describing:)) ?? "ok",
                schemaMigrations: migrations ?? 0,
                orders: OrderFigures(gateway),
                executionServer: gateway.executionName,
                longPolls: chat.waiting)
            return .json(health, status: migrations == nil ? .serviceUnavailable : .ok)
        }
    }
}

extension HealthRoutes.OrderFigures {
    init(_ gateway: OrderGateway) {
        let counters = gateway.counters
        self.init(batchSize: gateway.configuration.batchSize, pending: counters.pending,
                  batchesInFlight: counters.batchesInFlight, batchesExecuted: counters.batchesExecuted,
                  batchesFailed: counters.batchesFailed, withdrawn: counters.withdrawn,
                  outcomesNotRecorded: counters.outcomesNotRecorded)
    }
}
