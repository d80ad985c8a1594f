import Accounts
import Foundation
import HTTP
import Locking
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

    public static func register(in router: inout Router, gateway: OrderGateway, accounts: AccountService) {
        let batcher = gateway.batcher

        router.post("/api/orders") { request in
            let identity = try accounts.authenticate(request)
            if let wait = gateway.rateLimiter.take(identity.userID) { throw HTTPError.tooMany("orders", retryAfter: wait) }
            let body = try request.decodeJSON(OrderRequest.self)
            let key = try idempotencyKey(request)
            let ticket = Locked<(order: Int64, waiter: UInt64)?>(nil)
            let pending = try request.hold(owner: identity.userID) {
                if let ticket = ticket.withLock({ $0 }) { batcher.clientGone(orderID: ticket.order, waiter: ticket.waiter) }
            }
            do {
                switch try batcher.submit(userID: identity.userID, side: body.side, price: body.price, key: key,
                                          answer: { order, ending in pending.respond(response(order, ending)) }) {
                case .waiting(let order, let waiter):
                    ticket.withLock { $0 = (order, waiter) }
                case .final(let order):
                    pending.respond(.json(OrderBody(order)))
                case .outcomeNotRecorded(let order):
                    pending.respond(response(order, .outcomeNotRecorded))
                case .keyReused(let order):
                    pending.respond(HTTPError(422, "Idempotency-Key '\(key ?? "")' was used for order \(order) with a different body"))
                case .refused:
                    pending.respond(HTTPError.serviceUnavailable("the server is shutting down; the order was not accepted", retryAfter: 1))
                }
            } catch {
                accounts.logger.error("order not accepted", metadata: ["error": "\(error)"])
                let fault = StorageFault(error)
                pending.respond(HTTPError.serviceUnavailable("\(fault.map(String.init(describing:)) ?? "the order history cannot be read"): the order was not accepted; retry later",
                                                             retryAfter: fault?.retryAfter ?? 2))
            }
            return nil
        }

        router.get("/api/orders/{id}") { request in
            let identity = try accounts.authenticate(request)
            guard let id = request.pathParameter("id").flatMap(Int64.init),
                  let order = try batcher.order(id: id, userID: identity.userID)
            else { throw HTTPError.notFound("no such order") }
            return .json(OrderBody(order))
        }

        router.get("/api/orders") { request in
            let identity = try accounts.authenticate(request)
            var limit = 50
            if let text = request.query["limit"] {
                guard let number = Int(text), limitRange.contains(number) else {
                    throw HTTPError.badRequest("query 'limit' must be a whole number from 1 to 200")
                }
                limit = number
            }
            return .json(try batcher.orders(userID: identity.userID, limit: limit).map(OrderBody.init))
        }
    }

    /// The answer for an order whose wait ended.
    static func response(_ order: Order, _ ending: OrderBatcher.Ending) -> HTTPResponse {
        let reason = order.reason ?? "order \(order.id) did not complete"
        switch ending {
        case .executed, .alreadyFinal:
            return .json(OrderBody(order))
        case .failed:
            return .json(ErrorWithID(error: reason, id: order.id), status: 502)
        case .timedOut:
            return .json(ErrorWithID(error: reason, id: order.id), status: 504)
        case .shuttingDown, .notRecorded:
            return .json(ErrorWithID(error: reason, id: order.id), status: 503, headers: [("Retry-After", "1")])
        case .outcomeNotRecorded:
            // As long as a full disk's 503 asks: the outcome can be read once the disk has room.
            return .json(ErrorWithID(error: reason, id: order.id), status: 503,
                         headers: [("Retry-After", "\(StorageFault.diskFull.retryAfter)")])
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
