package import Trove

extension KeyValueStore {
    /// Throws ``StoreError/Code/notSupported``, naming `adapter`, this store and the first
    /// missing capability, unless the store meets every requirement.
    package func check(_ requirements: [StoreRequirement], for adapter: String) throws(StoreError) {
        for requirement in requirements where !capabilities.contains(requirement.capability) {
            throw StoreError(
                .notSupported, operation: .open, store: description,
                message: "\(adapter) needs a store with \(requirement.capability) \(requirement.purpose), "
                    + "and this one has only \(capabilities); \(requirement.remedy)"
            )
        }
    }
}
