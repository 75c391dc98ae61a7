extension StringProtocol where SubSequence == Substring {
    /// The parts of the string between its `/` bytes.
    ///
    /// Split by bytes, not by `Character`: a `/` followed by a combining mark (`/\u{301}`) is one
    /// `Character`, which `split(separator: "/")` would not split at, but it ends a key segment
    /// and a path component all the same.
    func slashSeparatedParts(omittingEmptyParts: Bool = false) -> [Substring] {
        parts(separatedBy: UInt8(ascii: "/"), omittingEmptyParts: omittingEmptyParts)
    }

    /// The parts of the string between its bytes equal to `separator`, an ASCII byte (see
    /// ``slashSeparatedParts(omittingEmptyParts:)`` for why by bytes).
    func parts(separatedBy separator: UInt8, omittingEmptyParts: Bool = false) -> [Substring] {
        var parts: [Substring] = []
        var start = startIndex
        for index in utf8.indices where utf8[index] == separator {
            if !omittingEmptyParts || start != index { parts.append(self[start..<index]) }
            start = utf8.index(after: index)
        }
        if !omittingEmptyParts || start != endIndex { parts.append(self[start...]) }
        return parts
    }
}
