extension Duration {
    /// Reads a duration written as a whole number followed by a unit, as on a command line or
    /// in a store URL: `500ms`, `30s`, `5m`, `2h`, `1d`, or several such parts in a row (`1h30m`).
    ///
    /// Units: `ms` (milliseconds), `s` (seconds), `m` (minutes), `h` (hours), `d` (days of
    /// 24 hours). Zero (`0s`) is a valid duration; negative numbers, fractions, spaces and
    /// other units are not.
    ///
    ///     let timeout = try Duration(parsing: "1m30s")   // .seconds(90)
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidArgument`` naming the text
    ///   and the accepted forms.
    public init(parsing text: some StringProtocol) throws(StoreError) {
        let invalid = StoreError(
            .invalidArgument, operation: .validate,
            message: "invalid duration '\(StoreKey.escape(String(text)))': use a whole number followed by "
                + "ms, s, m, h or d, such as 500ms, 30s, 5m, 2h or 1d")
        var milliseconds: Int64 = 0
        var rest = Substring(text)
        if rest.isEmpty { throw invalid }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Int64
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1_000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            case "d": scale = 86_400_000
            default: throw invalid
            }
            guard !digits.isEmpty, let number = Int64(digits) else { throw invalid }
            let (part, overflowed) = number.multipliedReportingOverflow(by: scale)
            let (sum, overflowedSum) = milliseconds.addingReportingOverflow(part)
            if overflowed || overflowedSum { throw invalid }
            milliseconds = sum
        }
        self = .milliseconds(milliseconds)
    }
}
