extension PostgresStore {
    /// How a store uses its table.
    public struct Options: Sendable, Hashable {
        /// The largest value, in bytes, the store writes; a larger one fails with
        /// `StoreError.Code.valueTooLarge` before anything is sent. Defaults to 64 MiB; at most
        /// 1 GiB less a little, `bytea`'s own limit.
        public var maximumValueSize: Int
        /// Whether opening creates the table (and its expiry index) when it is missing. Defaults
        /// to `true`; without it a missing table fails the open with
        /// `StoreError.Code.invalidArgument`.
        public var createsTable: Bool

        /// The largest value `bytea` holds, less room for the row around it.
        public static let byteaLimit = (1 << 30) - (1 << 20)

        /// Creates options; every parameter has the default described on its property.
        public init(maximumValueSize: Int = 64 << 20, createsTable: Bool = true) {
            self.maximumValueSize = max(0, min(maximumValueSize, Self.byteaLimit))
            self.createsTable = createsTable
        }
    }
}
