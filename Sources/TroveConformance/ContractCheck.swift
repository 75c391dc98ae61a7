public import Trove

/// One clause of the Trove contract as a runnable check, free of any test framework.
///
/// Run every check against a fresh, empty store built with the environment's clock; a check
/// returns when the store honours its clause and throws a ``ConformanceFailure`` when it does not:
///
///     for check in ContractCheck.allCases {
///         let clock = ManualWallClock()
///         let store = MyStore(clock: clock.wallClock)
///         try await check.run(against: store, environment: ConformanceEnvironment(clock: clock))
///     }
///
/// With Swift Testing, cross the checks with your fixtures:
///
///     @Test(arguments: ContractCheck.allCases)
///     func contract(_ check: ContractCheck) async throws { … }
///
/// A check whose clause depends on a capability the store does not claim (conditional writes,
/// expiration, …) checks instead that the store refuses the option with
/// ``StoreError/Code/notSupported``, so a store never passes by ignoring an option.
public struct ContractCheck: CaseIterable, Hashable, Identifiable, Sendable, CustomStringConvertible {
    /// The check's name, such as `writeIfAbsent`; unique among the checks.
    public let name: String
    /// The clause of the contract the check verifies, in a sentence.
    public let summary: String
    /// Whether the check needs a store that keeps values (every check but key validation).
    let needsRetention: Bool
    /// The check itself.
    let body: @Sendable (CheckContext) async throws -> Void

    /// Creates a check.
    init(
        _ name: String,
        _ summary: String,
        needsRetention: Bool = true,
        body: @escaping @Sendable (CheckContext) async throws -> Void
    ) {
        self.name = name
        self.summary = summary
        self.needsRetention = needsRetention
        self.body = body
    }

    /// Every check of the contract, in a stable order.
    public static let allCases: [ContractCheck] = [
        // Keys
        .validKeysRoundTrip, .invalidKeysRejected, .keyLengthLimit,
        // Values and metadata
        .missingKeyReadsNil, .emptyValue, .binaryValues, .overwriteReplacesValue,
        .metadataIsAccurate, .etagChangesOnEveryWrite, .valueSizeLimit,
        // Conditions
        .writeIfAbsent, .writeIfMatches, .conditionalDelete,
        // Expiry
        .expiredEntriesAreInvisible, .writesOverExpiredEntries, .reclaimExpired,
        // Listing
        .listingOrder, .delimiterListing, .paging, .smallPages, .earlyStop,
        // Hierarchy
        .keyAndPrefixCoexist, .subStoreView,
        // Conveniences
        .countAndIsEmpty, .containsAndDiscard, .randomKey, .oldestAndNewestKeys, .updateKeepAndDelete,
        // Streaming
        .largeStreamedValue, .streamedWriteAtomicity,
        // Concurrency and sharing
        .concurrentCompareAndSwap, .concurrentCreateIfAbsent, .readersNeverSeeTornValues,
        .sharedAcrossInstances,
    ]

    /// The check named `name`, or `nil` if there is none.
    public static func named(_ name: String) -> ContractCheck? {
        allCases.first { $0.name == name }
    }

    /// Runs the check against `store`.
    ///
    /// `store` must be empty when the check starts (a check lists and counts what it wrote) and
    /// built with `environment.clock` when it has one. The check leaves data behind; throw the
    /// store away afterwards.
    ///
    /// - Parameters:
    ///   - store: The store under test.
    ///   - environment: What the check needs beyond the store. Defaults to an environment with
    ///     no clock, which is enough for stores without expiration.
    /// - Throws: ``ConformanceFailure`` when the store breaks the clause, including when it
    ///   throws an error the contract does not allow there (kept as
    ///   ``ConformanceFailure/underlying``); `CancellationError` if the task was cancelled.
    public func run(against store: any KeyValueStore, environment: ConformanceEnvironment = ConformanceEnvironment()) async throws {
        let context = CheckContext(check: name, store: store, environment: environment)
        do {
            if needsRetention {
                try context.requireRetention()
                try await context.requireEmpty()
            }
            try await body(context)
        } catch let failure as ConformanceFailure {
            throw failure
        } catch let cancellation as CancellationError {
            throw cancellation
        } catch let error as StoreError {
            throw context.failure("the store threw an error the contract does not allow here",
                                  key: error.key, expected: "no error", got: error.description, underlying: error)
        } catch {
            throw context.failure("unexpected error", expected: "no error", got: String(describing: error), underlying: error)
        }
    }

    /// The check's ``name``.
    public var id: String { name }

    /// The check's ``name``, so that test reports name it.
    public var description: String { name }

    /// Checks are equal when their names are.
    public static func == (lhs: ContractCheck, rhs: ContractCheck) -> Bool { lhs.name == rhs.name }

    /// Hashes the name.
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}
