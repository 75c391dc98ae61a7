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
/// `StoreError.Code.notSupported`, so a store never passes by ignoring an option.
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
        .metadataIsAccurate, .etagChangesOnEveryWrite, .valueSizeLimit, .readOptions,
        // Conditions
        .writeIfAbsent, .writeIfMatches, .conditionalDelete,
        // Expiry
        .expiredEntriesAreInvisible, .writesOverExpiredEntries, .reclaimExpired, .expiryRefreshOnRead,
        // Listing
        .listingOrder, .delimiterListing, .paging, .smallPages, .earlyStop, .cursorsStayValid,
        // Hierarchy
        .keyAndPrefixCoexist, .subStoreView,
        // Conveniences
        .countAndIsEmpty, .containsAndDiscard, .randomKey, .oldestAndNewestKeys, .updateKeepAndDelete,
        .dictionaryOperations,
        // Batches
        .batches,
        // Streaming
        .largeStreamedValue, .streamedWriteAtomicity, .scopedStreams,
        // Concurrency and sharing
        .concurrentCompareAndSwap, .concurrentCreateIfAbsent, .readersNeverSeeTornValues,
        .sharedAcrossInstances,
    ]

    /// The check named `name`, or `nil` if there is none.
    public static func named(_ name: String) -> ContractCheck? {
        allCases.first { $0.name == name }
    }

    /// What running a check found, when the store did not break the clause.
    public enum Outcome: Hashable, Sendable, CustomStringConvertible {
        /// The store honours the clause.
        case passed
        /// The clause does not apply to this store or environment (a value size limit the
        /// store does not have, a second instance the environment cannot open); the reason says
        /// which. A test runner should report it as skipped, never as passed.
        case skipped(reason: String)

        /// `passed` or `skipped: <reason>`.
        public var description: String {
            switch self {
            case .passed: return "passed"
            case .skipped(let reason): return "skipped: \(reason)"
            }
        }
    }

    /// Runs the check against `store`.
    ///
    /// Unless ``ConformanceEnvironment/isolatesEachCheck`` is set, `store` must be empty when
    /// the check starts (a check lists and counts what it wrote) and built with
    /// `environment.clock` when it has one; the check leaves data behind, so throw the store away
    /// afterwards. With isolation, the check runs in a namespace of its own under a random
    /// prefix, which is deleted afterwards whatever the outcome.
    ///
    /// With ``ConformanceEnvironment/realTimeExpiry`` (and no clock), an attempt whose waits ran
    /// late (the machine too busy to keep to the check's plan) and that failed is tried again in
    /// a fresh namespace of `store`, up to three attempts; the last failure says how each ran late.
    /// An attempt that kept to its plan and failed fails at once.
    ///
    ///     switch try await check.run(against: store, environment: environment) {
    ///     case .passed: break
    ///     case .skipped(let reason): try Test.cancel(Comment(rawValue: reason))
    ///     }
    ///
    /// - Parameters:
    ///   - store: The store under test.
    ///   - environment: What the check needs beyond the store. Defaults to an environment with
    ///     no clock, which is enough for stores without expiration.
    /// - Throws: ``ConformanceFailure`` when the store breaks the clause, including when it
    ///   throws an error the contract does not allow there (kept as
    ///   ``ConformanceFailure/underlying``); `CancellationError` if the task was cancelled.
    @discardableResult
    public func run(against store: any KeyValueStore, environment: ConformanceEnvironment = ConformanceEnvironment()) async throws -> Outcome {
        var lateAttempts: [String] = []
        while true {
            let lateness = Lateness()
            do {
                if environment.isolatesEachCheck || !lateAttempts.isEmpty {
                    return try await runIsolated(against: store, environment: environment, lateness: lateness)
                }
                return try await runDirectly(against: store, environment: environment, lateness: lateness)
            } catch var failure as ConformanceFailure {
                // In real time, an attempt that ran late may have seen an entry expire that its
                // plan still expected live: try again, in a fresh namespace, a few times.
                lateness.noteFailure()
                let late = lateness.all
                guard environment.clock == nil, environment.realTimeExpiry != nil, !late.isEmpty else { throw failure }
                lateAttempts.append(late.joined(separator: "; "))
                if lateAttempts.count >= Self.realTimeAttempts {
                    failure.message += " (each of \(lateAttempts.count) attempts ran late in real time, so the machine may be "
                        + "too busy to judge: \(lateAttempts.joined(separator: " | "))"
                    throw failure
                }
            }
        }
    }

    /// How many times a real-time check is tried when its attempts run late and fail.
    static let realTimeAttempts = 3

    /// Runs the check in a namespace of its own under a random prefix of `store`, deleted
    /// afterwards whatever the outcome.
    private func runIsolated(against store: any KeyValueStore, environment: ConformanceEnvironment,
                             lateness: Lateness) async throws -> Outcome {
        var bytes = [UInt8](repeating: 0, count: 8)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let name = "trove-check-" + bytes.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
        let namespace = StoreKey(stringLiteral: String(name.prefix(ConformanceEnvironment.namespaceByteCount - 1)))
        var isolated = environment
        isolated.isolatesEachCheck = false
        isolated.maximumKeyByteCount = min(environment.maximumKeyByteCount,
                                           StoreKey.maximumByteCount - ConformanceEnvironment.namespaceByteCount)
        if let reopen = environment.reopen {
            isolated.reopen = { AnyKeyValueStore(try await reopen()).prefixed(KeyNamespace(namespace)) }
        }
        let view = AnyKeyValueStore(store).prefixed(KeyNamespace(namespace))
        do {
            let outcome = try await runDirectly(against: view, environment: isolated, lateness: lateness)
            try await store.removeAll(withPrefix: namespace.rawValue + "/")
            return outcome
        } catch {
            _ = try? await store.removeAll(withPrefix: namespace.rawValue + "/")
            throw error
        }
    }

    private func runDirectly(against store: any KeyValueStore, environment: ConformanceEnvironment,
                             lateness: Lateness) async throws -> Outcome {
        let context = CheckContext(check: name, store: store, environment: environment, lateness: lateness)
        do {
            if needsRetention {
                try context.requireRetention()
                try await context.requireEmpty()
            }
            try await body(context)
            return .passed
        } catch let skip as CheckSkip {
            return .skipped(reason: skip.reason)
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
