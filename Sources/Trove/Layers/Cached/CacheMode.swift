/// Whether a ``CachedStore`` confirms a cached value with the backing store before serving it.
public struct CacheMode: Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case mutable
        case appendOnly
    }

    private let base: Base

    /// For data that may change behind the cache (other processes, other stacks): a cached value
    /// is served only after the backing store confirms, with a metadata call (not a read), that
    /// its ETag is still the current one. A stale or vanished entry is refreshed or dropped.
    public static let mutable = CacheMode(base: .mutable)

    /// For data that never changes once written (content-addressed blobs, logs, immutable
    /// snapshots): a cached value is served without asking the backing store. Overwrites and
    /// deletes made through the same ``CachedStore`` keep its cache right; ones made by other
    /// means are not seen while a copy stays in the cache.
    public static let appendOnly = CacheMode(base: .appendOnly)

    /// Whether every hit is confirmed with the backing store.
    public var confirmsHits: Bool { base == .mutable }

    /// `mutable` or `appendOnly`.
    public var description: String {
        switch base {
        case .mutable: return "mutable"
        case .appendOnly: return "appendOnly"
        }
    }
}
