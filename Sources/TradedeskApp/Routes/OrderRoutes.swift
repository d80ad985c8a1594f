import Accounts
import Foundation
import HTTP
import Locking
import Orders
import Storage

/// `POST /api/orders`, `GET /api/orders/{id}`, `GET /api/orders`.
public enum OrderRoutes {
    /// `{"order": "buy"|"sell", "price": 1.0842}`, and nothing else. (Public for fuzz/.)
    public struct OrderRequest: Sendable, Equatable {
        public let side: OrderSide
        public let price: Price

        /// Reads the request's body (``HTTPRequest/jsonObject()``): an unknown field is refused
        /// before any other, then `order`, then `price`. A price is read from its digits; one too
        /// long for an `Int64`, or with a large exponent, is read as `Decimal` reads it, whose
        /// range ends near 1e127 (beyond, the body is not valid JSON, as before).
        public init(_ request: HTTPRequest) throws(HTTPError) {
            let json = try request.jsonObject()
            if let unknown = json.unknownKey(allowed: ["order", "price"]) {
                throw .badRequest("unknown field '\(unknown)': an order has only 'order' and 'price'")
            }
            guard let side = OrderSide(rawValue: try json.string("order")) else {
                throw .badRequest("field 'order' must be \"buy\" or \"sell\"")
            }
            self.side = side
            let number = try json.number("price")
            let parts = number.decimalParts
            let decimal = parts == nil ? Decimal(string: number.text) : nil
            if parts == nil, decimal == nil { throw request.numberOutOfRange }
            do throws(PriceError) {
                if let (significand, exponent) = parts {
                    price = try Price(significand: significand, exponent: exponent)
                } else {
                    price = try Price(decimal!)
                }
            } catch {
                throw .badRequest(error.message)
            }
        }
    }

    public static let limitRange = 1...200

    static func register(in router: inout Router, gateway: OrderGateway, accounts: AccountService) {
        router.group(Authenticated(accounts: accounts)) { routes in
            routes.post("/api/orders") { request, identity in
                if let wait = gateway.takeOrderAllowance(userID: identity.userID) { throw HTTPError.tooMany("orders", retryAfter: wait) }
                let body = try OrderRequest(request)
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
                        pending.respond(OrderJSON.response(order))
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
                return OrderJSON.response(order)
            }

            routes.get("/api/orders") { request, identity in
                var limit = 50
                if let text = request.query["limit"] {
                    guard let number = Int(text), limitRange.contains(number) else {
                        throw HTTPError.badRequest("query 'limit' must be a whole number from 1 to 200")
                    }
                    limit = number
                }
                return OrderJSON.response(try gateway.orders(userID: identity.userID, limit: limit))
            }
        }
    }

    /// The answer for an order whose wait ended.
    static func response(_ order: Order, _ ending: OrderGateway.Ending) -> HTTPResponse {
        let reason = order.reason ?? "order \(order.id) did not complete"
        switch ending {
        case .executed, .alreadyFinal:
            return OrderJSON.response(order)
        case .failed:
            return OrderJSON.error(reason, id: order.id, status: .badGateway)
        case .timedOut:
            return OrderJSON.error(reason, id: order.id, status: .gatewayTimeout)
        case .shuttingDown, .notRecorded:
            return OrderJSON.error(reason, id: order.id, status: .serviceUnavailable, headers: .retryAfter(1))
        case .outcomeNotRecorded:
            // As long as a full disk's 503 asks: the outcome can be read once the disk has room.
            return OrderJSON.error(reason, id: order.id, status: .serviceUnavailable,
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
