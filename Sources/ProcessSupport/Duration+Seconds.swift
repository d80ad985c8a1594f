extension Duration {
    /// The duration as a number of seconds (for `Date` arithmetic and messages).
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
