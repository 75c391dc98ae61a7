public import Foundation
import Synchronization

/// Fills a store from a slower source on a miss, without stampedes: concurrent misses of one
/// key in this process run the loader once (single flight); optionally, misses in several
/// processes run it once between them, through a short lease key; and a hot key is reloaded a
/// little before it expires, by one caller, while the others go on reading the current value.
///
///     let profiles = redis.loading(timeToLive: .seconds(300))
///     let profile = try await profiles.value(for: "profile/42") {
///         try await database.profileJSON(id: 42)                // runs once per miss
///     }
///
/// Values are stored as they are, under their own keys, with the time to live as their expiry:
/// the store stays an ordinary store that other programs can read. The store must keep expiries
/// (``StoreCapabilities/expiration``, or an ``ExpiringStore`` around it) when a time to live is set.
///
/// **Early reloading.** With a time to live, each read of a live value reloads it early with a
/// probability that grows as its expiry nears and with how long the last load took
/// (the "XFetch" rule: reload when `now + loadTime × earlyReloading × -ln(random)` passes the
/// expiry). Only this process's loads are timed, so a value loaded elsewhere is reloaded early
/// once this process has loaded it once. A caller that reloads early gets the new value; a
/// failed early reload is not an error, the current value is returned. 0 turns it off.
///
/// **Across processes.** With ``CrossProcessLoading``, a miss first writes a lease key
/// (`ifAbsent`, expiring after the lease time) beside the value: the process that writes it
/// loads; the others wait for the value, polling, and load themselves only if the lease expires
/// without one (its holder died). This needs conditional writes and expiries.
public struct CacheLoader<Store: KeyValueStore>: Sendable {
    /// The store the values are kept in.
    public let store: Store
    /// How long a loaded value lives; `nil` for ever.
    public let timeToLive: Duration?
    /// How eagerly a value is reloaded before it expires: 1 is the usual rule, larger reloads
    /// earlier, 0 never early.
    public let earlyReloading: Double
    /// How processes share a miss, or `nil` when each process loads on its own.
    public let crossProcess: CrossProcessLoading?
    let clock: WallClock
    private let flights = SingleFlight<StoreKey, Data>()
    private let loadTimes = LoadTimes()
    private let random: @Sendable () -> Double

    /// Creates a loader over `store`.
    ///
    /// - Parameters:
    ///   - store: Where values are kept.
    ///   - timeToLive: How long a loaded value lives. Defaults to for ever.
    ///   - earlyReloading: How eagerly values are reloaded before they expire. Defaults to 1.
    ///   - crossProcess: How processes share a miss. Defaults to `nil`: each process loads on
    ///     its own.
    ///   - clock: The clock for expiries and waits. Defaults to the system's.
    public init(store: Store, timeToLive: Duration? = nil, earlyReloading: Double = 1,
                crossProcess: CrossProcessLoading? = nil, clock: WallClock = .system) {
        self.init(store: store, timeToLive: timeToLive, earlyReloading: earlyReloading, crossProcess: crossProcess,
                  clock: clock, random: { Double.random(in: Double.leastNonzeroMagnitude..<1) })
    }

    init(store: Store, timeToLive: Duration?, earlyReloading: Double, crossProcess: CrossProcessLoading?,
         clock: WallClock, random: @escaping @Sendable () -> Double) {
        self.store = store
        self.timeToLive = timeToLive
        self.earlyReloading = max(0, earlyReloading)
        self.crossProcess = crossProcess
        self.clock = clock
        self.random = random
    }

    /// The value under `key`: the store's, or, on a miss, `loader`'s, stored before it is
    /// returned.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - loader: Makes the value. Concurrent misses of `key` in this process share one run.
    /// - Returns: The value.
    /// - Throws: What `loader` throws (nothing is stored then); the store's errors;
    ///   `CancellationError` when the calling task is cancelled (the load goes on while other
    ///   callers wait for it).
    public func value(for key: StoreKey, loadingWith loader: @escaping @Sendable () async throws -> Data) async throws -> Data {
        if let entry = try await store.read(key) {
            guard shouldReloadEarly(entry), !flights.isRunning(key) else { return entry.value }
            do {
                return try await flights.run(key) { try await load(key, loader, early: true) }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                return entry.value
            }
        }
        return try await flights.run(key) { try await load(key, loader, early: false) }
    }

    /// Whether the XFetch rule says to reload `entry` now.
    func shouldReloadEarly(_ entry: StoreEntry) -> Bool {
        guard earlyReloading > 0, let expires = entry.metadata.expirationDate,
              let loadTime = loadTimes[entry.metadata.key] else { return false }
        let head = loadTime * earlyReloading * -log(random())
        return clock.now.addingTimeInterval(head) >= expires
    }

    private func load(_ key: StoreKey, _ loader: @Sendable () async throws -> Data, early: Bool) async throws -> Data {
        guard let crossProcess, !early else { return try await loadAndStore(key, loader) }
        let leaseKey = try crossProcess.leaseKey(for: key)
        let token = Data(UUID().uuidString.utf8)
        let deadline = clock.now.addingTimeInterval(crossProcess.leaseTime.timeInterval * 2)
        while true {
            let lease: EntryMetadata?
            do {
                lease = try await store.write(token, for: leaseKey, options: WriteOptions(
                    condition: .ifAbsent, expiry: .after(crossProcess.leaseTime)))
            } catch let error as StoreError where error.code == .conditionFailed {
                lease = nil  // another process holds it
            }
            if let lease {
                defer {
                    // Release the lease for the next miss; it expires on its own if this fails.
                    Task { [store] in _ = try? await store.delete(leaseKey, condition: .ifMatches(lease.etag)) }
                }
                // Another process may have stored the value between our miss and our lease.
                if let entry = try await store.read(key) { return entry.value }
                return try await loadAndStore(key, loader)
            }
            // Another process holds the lease: wait for its value, or for the lease to lapse.
            try await clock.sleep(for: crossProcess.pollInterval)
            if let entry = try await store.read(key) { return entry.value }
            if clock.now >= deadline { return try await loadAndStore(key, loader) }
        }
    }

    private func loadAndStore(_ key: StoreKey, _ loader: @Sendable () async throws -> Data) async throws -> Data {
        let started = ContinuousClock.now
        let value = try await loader()
        loadTimes[key] = (ContinuousClock.now - started).timeInterval
        try await store.set(value, for: key, expiry: timeToLive.map { .after($0) } ?? .never)
        return value
    }
}

/// How several processes share a miss in ``CacheLoader``: through a lease key beside the value.
public struct CrossProcessLoading: Sendable {
    /// How long a lease lasts: longer than a load takes. A process that dies while loading holds
    /// up the others this long (twice this long at most, after which they load themselves).
    public var leaseTime: Duration
    /// How often a waiting process looks for the value.
    public var pollInterval: Duration
    /// What is appended to a key to name its lease.
    public var leaseSuffix: String

    /// Describes how processes share a miss.
    ///
    /// - Parameters:
    ///   - leaseTime: How long a lease lasts. Defaults to 10 seconds.
    ///   - pollInterval: How often a waiting process looks for the value. Defaults to 50 ms.
    ///   - leaseSuffix: What names a key's lease. Defaults to `.loading`.
    public init(leaseTime: Duration = .seconds(10), pollInterval: Duration = .milliseconds(50), leaseSuffix: String = ".loading") {
        self.leaseTime = leaseTime
        self.pollInterval = pollInterval
        self.leaseSuffix = leaseSuffix
    }

    func leaseKey(for key: StoreKey) throws -> StoreKey {
        try StoreKey(validating: key.rawValue + leaseSuffix)
    }
}

/// How long the last load of each key took, for early reloading; bounded.
private final class LoadTimes: Sendable {
    private static let limit = 10_000
    private let times = Mutex<[StoreKey: TimeInterval]>([:])

    subscript(key: StoreKey) -> TimeInterval? {
        get { times.withLock { $0[key] } }
        set {
            times.withLock { times in
                if times.count >= Self.limit, times[key] == nil, let any = times.keys.first { times[any] = nil }
                times[key] = newValue
            }
        }
    }
}

extension KeyValueStore {
    /// A ``CacheLoader`` over this store: values loaded on a miss, once per key however many
    /// tasks miss it, kept for `timeToLive`.
    ///
    ///     let profile = try await redis.loading(timeToLive: .seconds(300)).value(for: "profile/42") {
    ///         try await database.profileJSON(id: 42)
    ///     }
    ///
    /// Keep the loader and use it for every read: its single flight is per loader.
    ///
    /// - Parameters:
    ///   - timeToLive: How long a loaded value lives. Defaults to for ever.
    ///   - earlyReloading: How eagerly values are reloaded before they expire. Defaults to 1.
    ///   - crossProcess: How processes share a miss. Defaults to each on its own.
    /// - Returns: The loader.
    public func loading(timeToLive: Duration? = nil, earlyReloading: Double = 1,
                        crossProcess: CrossProcessLoading? = nil) -> CacheLoader<Self> {
        CacheLoader(store: self, timeToLive: timeToLive, earlyReloading: earlyReloading, crossProcess: crossProcess)
    }
}
