package import Trove

/// What an adapter needs of the store it is given, checked once when the adapter is made.
package struct StoreRequirement: Sendable {
    /// The capability needed.
    package let capability: StoreCapabilities
    /// What the adapter does with it, for the message (`"to create entries only if absent"`).
    package let purpose: String
    /// How to give a store the capability, if a layer can (`"wrap it: store.expiring()"`).
    package let remedy: String

    /// A requirement of `capability`, needed for `purpose`, with `remedy` for a store without it.
    package init(_ capability: StoreCapabilities, for purpose: String, remedy: String) {
        self.capability = capability
        self.purpose = purpose
        self.remedy = remedy
    }

    /// Native or layered expiry (``StoreCapabilities/expiration``).
    package static func expiration(for purpose: String) -> StoreRequirement {
        StoreRequirement(.expiration, for: purpose,
                         remedy: "wrap the store in an expiring layer, as store.expiring(), which adds expiry to any store")
    }

    /// Atomic `ifAbsent` and `ifMatches` writes (``StoreCapabilities/conditionalWrites``).
    package static func conditionalWrites(for purpose: String) -> StoreRequirement {
        StoreRequirement(.conditionalWrites, for: purpose,
                         remedy: "use a store that honours write conditions (every writable Trove store does; "
                             + "a read-only view does not)")
    }
}
