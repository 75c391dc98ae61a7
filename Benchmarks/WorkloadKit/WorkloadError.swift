/// A workload could not be set up or run; says what, and with which system error.
public struct WorkloadError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    /// Wraps a message.
    public init(_ description: String) { self.description = description }
}

/// Throws when a phase did not do what it should have: `actual` is not `expected`.
func check(_ actual: Int, equals expected: Int, _ what: String) throws {
    guard actual == expected else { throw WorkloadError("\(what): \(actual), expected \(expected)") }
}
