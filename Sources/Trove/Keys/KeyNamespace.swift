/// The name of a namespace inside a store, as ``KeyValueStore/prefixed(_:)`` takes it: a valid
/// key, written with or without one trailing `/` (`"app"` and `"app/"` name the same namespace).
///
///     let users = file.prefixed("app/").typed(as: User.self)   // "alice" is stored as app/alice
public struct KeyNamespace: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The namespace as a key, without the trailing slash.
    public let key: StoreKey

    /// The namespace `key`.
    public init(_ key: StoreKey) { self.key = key }

    /// Validates `string`, which may end with one `/`, as a namespace.
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidKey`` when what remains after
    ///   the trailing slash is not a valid ``StoreKey``.
    public init(validating string: String) throws(StoreError) {
        let trimmed = string.utf8.last == UInt8(ascii: "/") ? String(string.utf8.dropLast())! : string
        self.key = try StoreKey(validating: trimmed)
    }

    /// A namespace from a literal; an invalid literal is a programmer error and stops the program.
    public init(stringLiteral value: String) {
        do {
            try self.init(validating: value)
        } catch {
            preconditionFailure(error.message)
        }
    }

    /// The namespace followed by `/`, as its keys start.
    public var description: String { key.rawValue + "/" }
}
