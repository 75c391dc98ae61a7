import Foundation
public import Trove
import TroveIntegrationSupport
public import Vapor

/// A Vapor `SessionDriver` over any Trove store: each session is one entry, its data as JSON.
///
///     try app.sessions.use(.trove(FileSystemStore(root: dataDirectory).prefixed("sessions"), lifetime: .seconds(7 * 86_400)))
///     app.middleware.use(app.sessions.middleware)
///
/// **Session ids** are 32 bytes from the system's cryptographically secure generator
/// (`SystemRandomNumberGenerator`), in base64, as Vapor's own drivers make them. Each id is kept
/// under the store key that the reversible mapping of ``TroveCache/storeKey(for:)`` gives it
/// (`/` becomes `%2F`, `%` becomes `%25`, …): one entry directly under the store. A session is
/// created with ``WriteCondition/ifAbsent``, so two sessions can never share an id; on the
/// (astronomically unlikely) collision a new id is drawn.
///
/// **Updates never bring a deleted session back.** Vapor updates the session at the end of every
/// request that read it; if another request deleted the session in between (a logout), the
/// update writes nothing, so the logged-out session stays gone. An update is a compare-and-swap
/// on the entry's ETag.
///
/// **Lifetime.** With a ``lifetime``, a session expires that long after its creation or its
/// last update (so a session in use stays alive, as Vapor's default cookie, renewed on every
/// response, does); the store needs ``StoreCapabilities/expiration`` for it. Without one,
/// sessions stay until deleted, and an update keeps any expiry the entry has.
///
/// **Cookies from clients.** A cookie holding an id too long to be a store key cannot name a
/// session: reading it gives `nil` (Vapor then starts a new session) and deleting it does
/// nothing, rather than failing the request.
public struct TroveSessions: AsyncSessionDriver {
    /// The store that keeps the sessions.
    public let store: any KeyValueStore
    /// How long a session lives after its creation or last update, or `nil` for no limit.
    public let lifetime: Duration?

    /// How many ids ``createSession(_:for:)`` draws before it gives up.
    static var creationAttempts: Int { 8 }

    /// Creates a session driver that keeps its sessions in `store`.
    ///
    /// - Parameters:
    ///   - store: The store, or stack of layers, that keeps the sessions. It needs
    ///     ``StoreCapabilities/conditionalWrites``, and ``StoreCapabilities/expiration`` when a
    ///     `lifetime` is given.
    ///   - lifetime: How long a session lives after its creation or last update. Defaults to
    ///     `nil`: until it is deleted.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/notSupported`` when `store` lacks a
    ///   capability the driver needs, naming the store and the capability.
    public init(store: some KeyValueStore, lifetime: Duration? = nil) throws(StoreError) {
        var requirements: [StoreRequirement] = [
            .conditionalWrites(for: "to create sessions under fresh ids only and to update them without bringing deleted ones back"),
        ]
        if lifetime != nil { requirements.append(.expiration(for: "to let sessions expire after their lifetime")) }
        try store.check(requirements, for: "TroveSessions")
        self.store = store
        self.lifetime = lifetime
    }

    /// The store key of the session `sessionID` (see ``TroveCache/storeKey(for:)``).
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidKey`` when the id is too long
    ///   to be a store key.
    public func storeKey(for sessionID: SessionID) throws(StoreError) -> StoreKey {
        do {
            return try StringKeyEncoding.storeKey(for: sessionID.string)
        } catch {
            throw error.inStore(store.description)
        }
    }

    /// Stores `data` as a new session under a fresh random id.
    ///
    /// - Returns: The new session's id.
    /// - Throws: ``StoreError`` for a failure of the store, or ``StoreError/Code/conditionFailed``
    ///   if every one of 8 random ids was taken (which means the generator is broken).
    public func createSession(_ data: SessionData, for request: Request) async throws -> SessionID {
        for _ in 1...Self.creationAttempts {
            let sessionID = Self.makeSessionID()
            let key = try storeKey(for: sessionID)
            do {
                _ = try await store.write(try encode(data, for: key), for: key,
                                          options: WriteOptions(condition: .ifAbsent, expiry: lifetime.map { .after($0) } ?? .never))
                return sessionID
            } catch let error as StoreError where error.code == .conditionFailed {
                continue  // the id is taken: draw another
            }
        }
        throw StoreError(.conditionFailed, operation: .write, store: store.description,
                         message: "\(Self.creationAttempts) random session ids in a row were taken; the random generator cannot be trusted")
    }

    /// The data of the session `sessionID`, or `nil` if there is no such live session.
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/decodingFailed`` when the stored
    ///   entry is not session data; any failure of the store.
    public func readSession(_ sessionID: SessionID, for request: Request) async throws -> SessionData? {
        guard let key = try? storeKey(for: sessionID) else { return nil }  // too long to name any session
        guard let entry = try await store.read(key) else { return nil }
        do {
            return try JSONDecoder().decode(SessionData.self, from: entry.value)
        } catch {
            throw StoreError(.decodingFailed, operation: .read, key: key, store: store.description,
                             message: "the entry is not session data (a JSON object of strings)", underlying: error)
        }
    }

    /// Replaces the data of the session `sessionID` with `data`, if the session still exists.
    ///
    /// With a ``lifetime`` the session's life starts again; without one the entry keeps its
    /// expiry. A session deleted meanwhile is not written again.
    ///
    /// - Returns: `sessionID`.
    /// - Throws: ``StoreError`` for a failure of the store, or
    ///   ``StoreError/Code/conditionFailed`` if other writers kept changing the session for 100
    ///   attempts.
    public func updateSession(_ sessionID: SessionID, to data: SessionData, for request: Request) async throws -> SessionID {
        let key = try storeKey(for: sessionID)
        try await store.replace(try encode(data, for: key), for: key, expiry: lifetime.map { .after($0) }, whenAbsent: .skip)
        return sessionID
    }

    /// Deletes the session `sessionID`; deleting a missing session does nothing.
    public func deleteSession(_ sessionID: SessionID, for request: Request) async throws {
        guard let key = try? storeKey(for: sessionID) else { return }  // too long to name any session
        try await store.discard(key)
    }

    /// A new session id: 32 cryptographically random bytes in base64.
    static func makeSessionID() -> SessionID {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return SessionID(string: Data(bytes).base64EncodedString())
    }

    private func encode(_ data: SessionData, for key: StoreKey) throws(StoreError) -> Data {
        do {
            return try TroveCache.makeDefaultEncoder().encode(data)
        } catch {
            throw StoreError(.invalidArgument, operation: .write, key: key, store: store.description,
                             message: "the session data could not be encoded as JSON", underlying: error)
        }
    }
}
