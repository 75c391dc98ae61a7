public import Foundation
public import Trove
public import Vapor

extension Application.Caches.Provider {
    /// A ``TroveCache`` over `store`, as `.memory` is Vapor's in-memory cache:
    ///
    ///     try app.caches.use(.trove(FileSystemStore(root: cacheDirectory).prefixed("cache")))
    ///
    /// - Parameters:
    ///   - store: The store, or stack of layers, that keeps the values; it needs
    ///     ``StoreCapabilities/expiration``.
    ///   - encoder: Writes values. Defaults to a `JSONEncoder` with `.sortedKeys`.
    ///   - decoder: Reads values. Defaults to a plain `JSONDecoder`.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/notSupported`` when `store` has no
    ///   expiry, at once rather than at the first request.
    public static func trove(
        _ store: some KeyValueStore,
        encoder: JSONEncoder = TroveCache.makeDefaultEncoder(),
        decoder: JSONDecoder = JSONDecoder()
    ) throws(StoreError) -> Self {
        try TroveCache.checkRequirements(of: store)
        return .init { application in
            application.caches.use { application in
                TroveCache(checked: store, on: application.eventLoopGroup.any(), encoder: encoder, decoder: decoder)
            }
        }
    }
}
