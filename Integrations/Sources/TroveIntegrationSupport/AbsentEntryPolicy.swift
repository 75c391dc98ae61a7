/// What a replacing write does when the key holds no live value.
package enum AbsentEntryPolicy: Sendable {
    /// Create the entry (with the new expiry, or none).
    case create
    /// Write nothing: a deleted entry stays deleted.
    case skip
}
