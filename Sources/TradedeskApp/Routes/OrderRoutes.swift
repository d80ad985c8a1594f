import Accounts
import Foundation
import HTTP
import Locking
import Orders
import Storage

/// `POST /api/orders`, `GET /api/orders/{id}`, `GET /api/orders`.
public enum OrderRoutes {
    /// `{"order": "buy"|"sell", "price": 1.0842}`, and nothing else. (Public for fuzz/.)
    public struct OrderRequest: Decodable {
        public let side: OrderSide
        public let price: Price

        private struct Key: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            if let unknown = container.allKeys.map(\.stringValue).filter({ $0 != "order" && $0 != "price" }).sorted().first {
                throw HTTPError.badRequest("unknown field '\(unknown)': an order has only 'order' and 'price'")
            }
            let sideText = try container.decode(String.self, forKey: Key(stringValue: "order"))
            guard let side = OrderSide(rawValue: sideText) else {
                throw HTTPError.badRequest("field 'order' must be \"buy\" or \"sell\"")
            }
            self.side = side
            do {
                price = try Price(try container.decode(Decimal.self, forKey: Key(stringValue: "price")))
            } catch let error as PriceError {
                throw HTTPError.badRequest(error.message)
            }
        }
    }

    struct ErrorWithID: Encodable {
        let error: String
        let id: Int64
    }

    public static let limitRange = 1...200

    static func register(in router: inout Router, gateway: OrderGateway, accounts: AccountService) {
        router.group(Authenticated(accounts: accounts)) { routes in
            routes.post("/api/orders") { request, identity in
                if let wait = gateway.takeOrderAllowance(userID: identity.userID) { throw HTTPError.tooMany("orders", retryAfter: wait) }
                let body = try request.decodeJSON(OrderRequest.self)
                let key = try idempotencyKey(request)
                let ticket = Locked<(order: Int64, waiter: UInt64)?>(nil)
                let pending = try request.hold(owner: identity.userID) {
                    if let ticket = ticket.withLock({ $0 }) { gateway.clientGone(orderID: ticket.order, waiter: ticket.waiter) }
                }
                do {
                    switch try gateway.submit(userID: identity.userID, side: body.side, price: body.price, key: key,
                                              answer: { order, ending in pending.respond(response(order, ending)) }) {
                    case .waiting(let order, let waiter):
                        ticket.withLock { $0 = (order, waiter) }
                    case .final(let order):
                        pending.respond(.json(OrderBody(order)))
                    case .outcomeNotRecorded(let order):
                        pending.respond(response(order, .outcomeNotRecorded))
                    case .keyReused(let order):
                        pending.respond(OrdersError.keyReused(key: key ?? "", order: order))
                    case .refused:
                        pending.respond(OrdersError.shuttingDown)
                    }
                } catch {
                    pending.respond(error)
                }
                return nil
            }

            routes.get("/api/orders/{id}") { request, identity in
                guard let id = request.pathParameter("id").flatMap(Int64.init),
                      let order = try gateway.order(id: id, userID: identity.userID)
                else { throw OrdersError.noSuchOrder }
                return .json(OrderBody(order))
            }

            routes.get("/api/orders") { request, identity in
                var limit = 50
                if let text = request.query["limit"] {
                    guard let number = Int(text), limitRange.contains(number) else {
                        throw HTTPError.badRequest("query 'limit' must be a whole number from 1 to 200")
                    }
                    limit = number
                }
                return .json(try gateway.orders(userID: identity.userID, limit: limit).map(OrderBody.init))
            }
        }
    }

    /// The answer for an order whose wait ended.
    static func response(_ order: Order, _ ending: OrderGateway.Ending) -> HTTPResponse {
        let reason = order.reason ?? "order \(order.id) did not complete"
        switch ending {
        case .executed, .alreadyFinal:
            return .json(OrderBody(order))
        case .failed:
            return .json(ErrorWithID(error: reason, id: order.id), status: .badGateway)
        case .timedOut:
            return .json(ErrorWithID(error: reason, id: order.id), status: .gatewayTimeout)
        case .shuttingDown, .notRecorded:
            return .json(ErrorWithID(error: reason, id: order.id), status: .serviceUnavailable, headers: .retryAfter(1))
        case .outcomeNotRecorded:
            // As long as a full disk's 503 asks: the outcome can be read once the disk has room.
            return .json(ErrorWithID(error: reason, id: order.id), status: .serviceUnavailable,
                         headers: .retryAfter(StorageFault.diskFull.retryAfter))
        }
    }

    /// 1–255 visible ASCII characters.
    static func idempotencyKey(_ request: HTTPRequest) throws(HTTPError) -> String? {
        guard let key = request.header("idempotency-key") else { return nil }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .badRequest("header 'Idempotency-Key' must be 1 to 255 visible ASCII characters")
        }
        return key
    }
}

/// The JSON shape of an order.
struct OrderBody: Encodable {
    let id: Int64
    let order: OrderSide
    let price: Decimal
    let status: OrderStatus
    let reason: String?
    let batch: Int64?
    let submittedAt: String
    let executedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, order, price, status, reason, batch
        case submittedAt = "submitted_at"
        case executedAt = "executed_at"
    }

    init(_ order: Order) {
        id = order.id
        self.order = order.side
        price = order.price.decimal
        status = order.status
        reason = order.reason
        batch = order.batch
        submittedAt = order.submittedAt.apiTimestamp
        executedAt = order.executedAt?.apiTimestamp
    }

    /// Explicit nulls for `batch` and `executed_at`, so that every order has the same keys.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(order, forKey: .order)
        try container.encode(price, forKey: .price)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encode(batch, forKey: .batch)
        try container.encode(submittedAt, forKey: .submittedAt)
        try container.encode(executedAt, forKey: .executedAt)
    }
}
