public import Trove
public import Vapor

extension Application.Sessions.Provider {
    /// ``TroveSessions`` over `store`, as `.memory` is Vapor's in-memory driver:
    ///
    ///     try app.sessions.use(.trove(store.prefixed("sessions"), lifetime: .seconds(86_400)))
    ///
    /// - Parameters:
    ///   - store: The store, or stack of layers, that keeps the sessions.
    ///   - lifetime: How long a session lives after its creation or last update. Defaults to
    ///     `nil`: until it is deleted.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/notSupported`` when `store` lacks a
    ///   capability the driver needs, at once rather than at the first request.
    public static func trove(_ store: some KeyValueStore, lifetime: Duration? = nil) throws(StoreError) -> Self {
        let driver = try TroveSessions(store: store, lifetime: lifetime)
        return .init { application in
            application.sessions.use { _ in driver }
        }
    }
}
