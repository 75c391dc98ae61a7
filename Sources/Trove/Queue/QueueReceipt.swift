/// What a consumer needs to acknowledge, give back or extend a delivery: the element's
/// identifier and the lease's token. Its text form, `<identifier> <token>`, is what
/// `trove queue pop` prints and `trove queue ack` reads.
public struct QueueReceipt: Hashable, Sendable, CustomStringConvertible {
    /// The element's key in the store.
    public let id: StoreKey
    /// The lease's token.
    public let token: UInt64
    /// The ETag of the entry as the lease wrote it, when the receipt comes from a delivery:
    /// acknowledging is then one conditional delete. A receipt read from text has none, and
    /// its acknowledgement reads the entry first.
    let leaseETag: ETag?

    /// A receipt for the lease `token` on the element `id`.
    public init(id: StoreKey, token: UInt64) {
        self.init(id: id, token: token, leaseETag: nil)
    }

    init(id: StoreKey, token: UInt64, leaseETag: ETag?) {
        self.id = id
        self.token = token
        self.leaseETag = leaseETag
    }

    /// Whether both receipts are for the same lease on the same element.
    public static func == (lhs: QueueReceipt, rhs: QueueReceipt) -> Bool { lhs.id == rhs.id && lhs.token == rhs.token }

    /// Hashes the element's key and the lease's token.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(token)
    }

    /// Reads a receipt from its text form.
    ///
    /// - Throws: ``StoreError/Code/invalidArgument`` when the text is not one.
    public init(parsing text: String) throws(StoreError) {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let token = UInt64(parts[1], radix: 16), token != 0 else {
            throw StoreError(.invalidArgument, operation: .validate,
                             message: "'\(text)' is not a queue receipt (an element's key, a space, and a hexadecimal token)")
        }
        self.id = try StoreKey(validating: String(parts[0]))
        self.token = token
        self.leaseETag = nil
    }

    /// `<identifier> <token in hexadecimal>`.
    public var description: String { "\(id.rawValue) \(String(token, radix: 16))" }
}
