import HTTP
import Orders

/// The JSON of orders, written by hand (``JSONWriter``): byte for byte what `HTTPResponse.json`
/// wrote for them with `JSONEncoder` (sorted keys; `OrderJSONTests` compares the two), without
/// the encoder's generic machinery, which was the largest part of answering an order.
///
/// An order has the same keys whatever its state: `batch` and `executed_at` are `null` until
/// known; `reason` appears only when there is one. `price` is the decimal text of the price
/// (`1.0842`, `0.1`, `3`), never through `Double`.
enum OrderJSON {
    static func response(_ order: Order) -> HTTPResponse {
        var json = JSONWriter()
        write(order, to: &json)
        return json.response()
    }

    static func response(_ orders: [Order]) -> HTTPResponse {
        var json = JSONWriter(capacity: 16 + 200 * orders.count)
        json.beginArray()
        for order in orders { write(order, to: &json) }
        json.endArray()
        return json.response()
    }

    /// `{"error": message, "id": id}`: an order's wait that ended without an outcome to show.
    static func error(_ message: String, id: Int64, status: HTTPStatus, headers: HTTPFields = [:]) -> HTTPResponse {
        var json = JSONWriter()
        json.beginObject()
        json.key("error"); json.string(message)
        json.key("id"); json.integer(id)
        json.endObject()
        return json.response(status: status, headers: headers)
    }

    static func write(_ order: Order, to json: inout JSONWriter) {
        json.beginObject()
        json.key("batch"); json.integer(order.batch)
        json.key("executed_at"); json.string(order.executedAt?.apiTimestamp)
        json.key("id"); json.integer(order.id)
        json.key("order"); json.string(order.side.rawValue)
        json.key("price"); json.number(text: order.price.description)
        if let reason = order.reason { json.key("reason"); json.string(reason) }
        json.key("status"); json.string(order.status.rawValue)
        json.key("submitted_at"); json.string(order.submittedAt.apiTimestamp)
        json.endObject()
    }
}
