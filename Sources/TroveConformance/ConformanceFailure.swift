/// A violation of the contract, found by a ``ContractCheck``.
///
/// It says which check failed, on which key, what the contract expected and what the store
/// did instead. Print it (its ``description``) to see all of that on a few lines:
///
///     do {
///         try await ContractCheck.writeIfAbsent.run(against: store, environment: environment)
///     } catch let failure as ConformanceFailure {
///         print(failure)   // writeIfAbsent: a second ifAbsent write succeeded [key 'k'] …
///     }
public struct ConformanceFailure: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The name of the check that failed, as ``ContractCheck/name`` gives it.
    public var check: String
    /// The key the failing step was about, if it was about one, exactly as written to the store.
    public var key: String?
    /// What the contract requires at this step.
    public var expected: String
    /// What the store did instead.
    public var got: String
    /// Which clause of the contract was broken, in a sentence.
    public var message: String
    /// The error the store threw, when the failure is an unexpected error or the wrong one.
    public var underlying: (any Error)?
    /// The source file of the check, as `#fileID` gives it.
    public var fileID: String
    /// The line in ``fileID`` where the violation was detected.
    public var line: Int

    /// Creates a failure.
    ///
    /// - Parameters:
    ///   - check: The name of the failing check.
    ///   - key: The key concerned, if any. Defaults to `nil`.
    ///   - expected: What the contract requires. Defaults to an empty string.
    ///   - got: What happened instead. Defaults to an empty string.
    ///   - message: The broken clause, in a sentence.
    ///   - underlying: The error the store threw, if any. Defaults to `nil`.
    ///   - fileID: Where the violation was detected. Defaults to the caller's file.
    ///   - line: Where the violation was detected. Defaults to the caller's line.
    public init(
        check: String,
        key: String? = nil,
        expected: String = "",
        got: String = "",
        message: String,
        underlying: (any Error)? = nil,
        fileID: String = #fileID,
        line: Int = #line
    ) {
        self.check = check
        self.key = key
        self.expected = expected
        self.got = got
        self.message = message
        self.underlying = underlying
        self.fileID = fileID
        self.line = line
    }

    /// The check, the message and the key on one line, then what was expected and what happened.
    public var description: String {
        var text = "\(check): \(message)"
        if let key { text += " [key '\(ConformanceFailure.escape(key))']" }
        if !expected.isEmpty || !got.isEmpty {
            text += "\n  expected: \(expected)\n  got:      \(got)"
        }
        return text
    }

    /// The ``description`` followed by the underlying error in full and the source location.
    public var debugDescription: String {
        var text = description
        if let underlying { text += "\n  error:    \(String(reflecting: underlying))" }
        text += "\n  at \(fileID):\(line)"
        return text
    }

    /// `string` with control characters and backslashes escaped, so it prints on one line.
    static func escape(_ string: String) -> String {
        var result = ""
        for scalar in string.unicodeScalars {
            if scalar == "\\" {
                result += "\\\\"
            } else if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
