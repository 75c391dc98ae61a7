/// The operation during which a ``StoreError`` happened.
public struct StoreOperation: Hashable, Sendable, CustomStringConvertible {
    /// The operation's name, such as `read` or `list`.
    public let name: String

    /// Creates an operation with a name of your own, for backends and layers with operations
    /// beyond the standard ones.
    public init(_ name: String) { self.name = name }

    /// Reading a value and its metadata.
    public static let read = StoreOperation("read")
    /// Reading metadata only.
    public static let metadata = StoreOperation("metadata")
    /// Writing a value.
    public static let write = StoreOperation("write")
    /// Deleting a value.
    public static let delete = StoreOperation("delete")
    /// Listing keys.
    public static let list = StoreOperation("list")
    /// Validating a key or another argument.
    public static let validate = StoreOperation("validate")
    /// Opening a store.
    public static let open = StoreOperation("open")
    /// Reclaiming the space of expired entries.
    public static let reclaim = StoreOperation("reclaim")
    /// A compare-and-swap update loop.
    public static let update = StoreOperation("update")
    /// Counting keys.
    public static let count = StoreOperation("count")
    /// Copying entries from one store to another.
    public static let copy = StoreOperation("copy")
    /// Comparing the entries of two stores.
    public static let compare = StoreOperation("compare")
    /// Making one store's entries the same as another's.
    public static let synchronize = StoreOperation("synchronize")

    /// The operation's name.
    public var description: String { name }
}
