/// A body for comparing two readers of the same input: `good` with one to three bytes replaced,
/// inserted or removed at random, the new ones from `alphabet`. Never empty.
public func randomlyDamaged(_ good: [UInt8], alphabet: [UInt8]) -> [UInt8] {
    var body = good
    for _ in 0..<Int.random(in: 1...3) {
        let at = Int.random(in: 0..<body.count)
        switch Int.random(in: 0..<3) {
        case 0: body[at] = alphabet.randomElement()!
        case 1: body.insert(alphabet.randomElement()!, at: at)
        default: body.remove(at: at)
        }
        if body.isEmpty { body = good }
    }
    return body
}
