import Chat
import HTTP

/// The JSON of a list of messages, written by hand: byte for byte what `HTTPResponse.json` writes for
/// `[MessageBody]` (`JSONEncoder`, sorted keys, slashes unescaped; `MessageListJSONTests` compares them),
/// at a fraction of the cost. Every read of the chat answers with one, and `JSONEncoder`'s generic
/// machinery was the largest part of the last-50 read (profiled with `perf`).
enum MessageListJSON {
    static func response(_ messages: [Message]) -> HTTPResponse {
        HTTPResponse(status: .ok, headers: HTTPResponse.jsonFields(), body: encode(messages))
    }

    static func encode(_ messages: [Message]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2 + messages.reduce(0) { $0 + 110 + $1.author.utf8.count + $1.text.utf8.count })
        out.append(UInt8(ascii: "["))
        for (index, message) in messages.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += #"{"author":"#.utf8
            JSONString.append(message.author, to: &out)
            out += (message.bot ? #","bot":true,"created_at":"# : #","bot":false,"created_at":"#).utf8
            JSONString.append(message.createdAt.apiTimestamp, to: &out)
            out += #","id":"#.utf8
            out += String(message.id).utf8
            out += #","room":"#.utf8
            out += String(message.roomID).utf8
            out += #","text":"#.utf8
            JSONString.append(message.text, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}
