import Foundation
import Trove

/// What a check's body works with: the store, the environment, and ways to report a violation.
struct CheckContext: Sendable {
    /// The name of the running check, for failures.
    let check: String
    /// The store under test.
    let store: any KeyValueStore
    /// What the check needs beyond the store.
    let environment: ConformanceEnvironment
    /// Where the check's real-time waits note that they ran late, shared by every timeline and
    /// view of one attempt.
    let lateness: Lateness

    /// The store's capabilities.
    var capabilities: StoreCapabilities { store.capabilities }

    /// A failure of this check.
    func failure(
        _ message: String,
        key: StoreKey? = nil,
        expected: String = "",
        got: String = "",
        underlying: (any Error)? = nil,
        fileID: String = #fileID,
        line: Int = #line
    ) -> ConformanceFailure {
        ConformanceFailure(check: check, key: key?.rawValue, expected: expected, got: got, message: message,
                           underlying: underlying, fileID: fileID, line: line)
    }

    /// Throws a failure unless `condition` holds.
    func expect(
        _ condition: Bool,
        _ message: @autoclosure () -> String,
        key: StoreKey? = nil,
        expected: @autoclosure () -> String = "",
        got: @autoclosure () -> String = "",
        fileID: String = #fileID,
        line: Int = #line
    ) throws(ConformanceFailure) {
        if !condition {
            throw failure(message(), key: key, expected: expected(), got: got(), fileID: fileID, line: line)
        }
    }

    /// Throws a failure unless `got` equals `expected`.
    func expectEqual<T: Equatable>(
        _ got: T,
        _ expected: T,
        _ message: @autoclosure () -> String,
        key: StoreKey? = nil,
        fileID: String = #fileID,
        line: Int = #line
    ) throws(ConformanceFailure) {
        if got != expected {
            throw failure(message(), key: key, expected: describe(expected), got: describe(got),
                          fileID: fileID, line: line)
        }
    }

    /// Throws a failure unless `body` throws a ``StoreError`` with `code`; returns that error.
    @discardableResult
    func expectError<T>(
        _ code: StoreError.Code,
        _ message: @autoclosure () -> String,
        key: StoreKey? = nil,
        fileID: String = #fileID,
        line: Int = #line,
        _ body: () async throws -> T
    ) async throws -> StoreError {
        let result: T
        do {
            result = try await body()
        } catch let error as StoreError where error.code == code {
            return error
        } catch let error as ConformanceFailure {
            throw error
        } catch {
            throw failure(message(), key: key, expected: "StoreError \(code)", got: "threw \(error)",
                          underlying: error, fileID: fileID, line: line)
        }
        throw failure(message(), key: key, expected: "StoreError \(code)", got: "returned \(describe(result))",
                      fileID: fileID, line: line)
    }

    /// Throws a failure unless `got` is exactly `expected`, naming the first differing byte.
    func expectValue(
        _ got: Data?,
        _ expected: Data,
        _ message: @autoclosure () -> String,
        key: StoreKey? = nil,
        fileID: String = #fileID,
        line: Int = #line
    ) throws(ConformanceFailure) {
        guard let got else {
            throw failure(message(), key: key, expected: describe(expected), got: "nil", fileID: fileID, line: line)
        }
        if got != expected {
            var detail = describe(got)
            if let offset = zip(got, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                detail += ", first difference at byte \(offset)"
            }
            throw failure(message(), key: key, expected: describe(expected), got: detail, fileID: fileID, line: line)
        }
    }

    /// Fails unless the store keeps values, which every check but the key-validation ones needs.
    func requireRetention() throws(ConformanceFailure) {
        try expect(capabilities.contains(.retention),
                   "this check needs a store that keeps values (capability retention)",
                   expected: "retention among the capabilities", got: capabilities.description)
    }

    /// Fails unless the store holds no key, since checks count and list what they wrote.
    func requireEmpty() async throws {
        let names = try await names(.all, pageSize: 10, limit: 10)
        try expect(names.isEmpty,
                   "the store under test must be empty: give each check a fresh store or namespace",
                   expected: "no keys", got: names.joined(separator: ", "))
    }

    /// Ends the check as skipped: its clause does not apply to this store or environment.
    func skip(_ reason: String) throws -> Never {
        throw CheckSkip(reason: reason)
    }

    /// Fails unless the environment says how to let time pass (a clock, or real-time expiry),
    /// and returns the timeline to use.
    func requireTimeline() throws(ConformanceFailure) -> CheckTimeline {
        if let clock = environment.clock { return CheckTimeline(clock: clock, realTime: nil, lateness: lateness) }
        if let realTime = environment.realTimeExpiry { return CheckTimeline(clock: nil, realTime: realTime, lateness: lateness) }
        throw failure("this store claims expiration, so the check needs ConformanceEnvironment.clock (the ManualWallClock "
                      + "whose wallClock the store was built with) or ConformanceEnvironment.realTimeExpiry",
                      expected: "a clock or real-time expiry", got: "neither")
    }

    /// The same check working on another store (a sub-store view, a second instance).
    func with(store other: any KeyValueStore) -> CheckContext {
        CheckContext(check: check, store: other, environment: environment, lateness: lateness)
    }

    /// The lower and upper bounds of "now", from the environment's clock and the system clock
    /// (a store may read either), for judging reported dates.
    func now() -> (earliest: Date, latest: Date) {
        let system = Date()
        guard let clock = environment.clock else { return (system, system) }
        let manual = clock.now
        return (min(system, manual), max(system, manual))
    }

    /// Throws unless `date` lies within `interval`, widened by the environment's tolerance.
    func expectPlausible(
        _ date: Date?,
        within interval: (earliest: Date, latest: Date),
        _ message: @autoclosure () -> String,
        key: StoreKey? = nil,
        fileID: String = #fileID,
        line: Int = #line
    ) throws(ConformanceFailure) {
        let tolerance = environment.timestampTolerance.seconds
        let earliest = interval.earliest.addingTimeInterval(-tolerance)
        let latest = interval.latest.addingTimeInterval(tolerance)
        guard let date, date >= earliest, date <= latest else {
            throw failure(message(), key: key, expected: "a date between \(earliest) and \(latest)",
                          got: date.map { "\($0)" } ?? "nil", fileID: fileID, line: line)
        }
    }

    /// Throws unless `error` names `key` exactly as the caller gave it (a layer reports keys in
    /// its own terms, never its base store's) and a store, as every Trove error must.
    func expectNames(_ error: StoreError, key: StoreKey, fileID: String = #fileID, line: Int = #line) throws(ConformanceFailure) {
        let named = error.key == key
        try expect(named, "the error does not say which key it is about", key: key,
                   expected: "error.key '\(key)'", got: error.key.map { "'\($0)'" } ?? "nil", fileID: fileID, line: line)
        try expect(!error.store.isEmpty, "the error does not say which store it comes from", key: key,
                   expected: "a store description", got: "an empty string", fileID: fileID, line: line)
    }

    // MARK: Listing helpers

    /// The number of keys under `prefix`, through the store's own listing sequence.
    func count(withPrefix prefix: String = "") async throws -> Int {
        try await names(ListQuery(prefix: prefix)).count
    }

    /// The names of what `query` lists, through the store's own listing sequence.
    func names(_ query: ListQuery, pageSize: Int = 1000, limit: Int = .max) async throws -> [String] {
        var result: [String] = []
        for try await element in store.list(query, pageSize: pageSize) {
            result.append(element.name)
            if result.count >= limit { break }
        }
        return result
    }

    /// Every element `query` lists, through the store's own listing sequence.
    func elements(_ query: ListQuery, pageSize: Int = 1000) async throws -> [ListElement] {
        var result: [ListElement] = []
        for try await element in store.list(query, pageSize: pageSize) { result.append(element) }
        return result
    }

    /// Every key under `prefix`, through the store's own listing sequence.
    func keys(withPrefix prefix: String = "") async throws -> [StoreKey] {
        try await elements(ListQuery(prefix: prefix)).compactMap(\.key)
    }

    /// Every element `query` lists, by calling `listPage` directly with `limit`, checking that
    /// no page is longer than `limit` and that the listing ends.
    func pagedElements(_ query: ListQuery, limit: Int, expectedCount: Int) async throws -> (elements: [ListElement], pages: Int) {
        var elements: [ListElement] = []
        var cursor: ListCursor?
        var pages = 0
        repeat {
            let page = try await store.listPage(query, after: cursor, limit: limit)
            pages += 1
            try expect(page.elements.count <= limit, "listPage returned more elements than its limit",
                       expected: "at most \(limit)", got: "\(page.elements.count)")
            elements += page.elements
            try expect(pages <= expectedCount + 2 && elements.count <= expectedCount + limit,
                       "paging does not end: the store keeps returning a next cursor",
                       expected: "\(expectedCount) elements", got: "\(elements.count) elements in \(pages) pages")
            cursor = page.nextCursor
        } while cursor != nil
        return (elements, pages)
    }

    // MARK: Value size limit

    /// The largest value the store accepts: ``ConformanceEnvironment/maximumValueSize``, or
    /// `Int.max` without a limit.
    var maximumValueSize: Int { environment.maximumValueSize ?? .max }

    /// The size a check gives a value that only needs to be large: `preferred`, or the store's
    /// largest value when that is smaller.
    func valueSize(_ preferred: Int) -> Int { Swift.min(preferred, maximumValueSize) }

    /// When `size` is over the store's value limit, checks that a value of that size written under
    /// `key` is refused with ``StoreError/Code/valueTooLarge`` naming the key and the store, whole
    /// (unless `whole` is `false`, for sizes not worth building in memory) and streamed; that the
    /// streamed source is not read far past the limit; and that the key holds what it held
    /// before. Does nothing for a size within the limit.
    func expectRefusedIfTooLarge(size: Int, key: StoreKey, whole: Bool = true,
                                 fileID: String = #fileID, line: Int = #line) async throws {
        let maximum = maximumValueSize
        guard size > maximum else { return }
        let before = try await store.read(key)
        let pattern = BytePattern(seed: 0x7E_5123)
        if whole {
            let error = try await expectError(.valueTooLarge, "a value of \(size) bytes, over the store's limit of \(maximum), "
                                              + "must be refused with valueTooLarge", key: key, fileID: fileID, line: line) {
                try await store.set(pattern.bytes(at: 0, count: size), for: key)
            }
            try expectNames(error, key: key, fileID: fileID, line: line)
        }
        let chunkSize = Swift.max(1024, Swift.min(1 << 20, maximum / 8))
        let produced = Box(0)
        let error = try await expectError(.valueTooLarge, "a streamed value of \(size) bytes, over the store's limit of \(maximum), "
                                          + "must be refused with valueTooLarge", key: key, fileID: fileID, line: line) {
            try await store.set(contentsOf: PatternChunks(pattern: pattern, size: size, chunkSize: chunkSize, produced: produced),
                                for: key)
        }
        try expectNames(error, key: key, fileID: fileID, line: line)
        let allowance = maximum + 2 * chunkSize
        try expect(produced.value <= allowance, "a streamed value over the limit must be refused without reading the source far past it",
                   key: key, expected: "at most \(allowance) bytes read", got: "\(produced.value) bytes read", fileID: fileID, line: line)
        let after = try await store.read(key)
        try expectEqual(after?.value, before?.value, "a value refused as too large changed what the key holds", key: key,
                        fileID: fileID, line: line)
        try expectEqual(after?.metadata.etag, before?.metadata.etag, "a value refused as too large changed the key's ETag", key: key,
                        fileID: fileID, line: line)
    }

    // MARK: Writing helpers

    /// Writes `value(key)` under every key, `width` writes at a time.
    func writeAll(_ keys: [StoreKey], width: Int = 16, value: @escaping @Sendable (StoreKey) -> Data) async throws {
        let store = self.store
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = keys.startIndex
            while next < keys.endIndex, next - keys.startIndex < width {
                let key = keys[next]
                group.addTask { try await store.set(value(key), for: key) }
                next += 1
            }
            while try await group.next() != nil {
                if next < keys.endIndex {
                    let key = keys[next]
                    group.addTask { try await store.set(value(key), for: key) }
                    next += 1
                }
            }
        }
    }

    /// Validates `string`, which the check knows to be a valid key; a rejection is a failure.
    func key(_ string: String, fileID: String = #fileID, line: Int = #line) throws(ConformanceFailure) -> StoreKey {
        do {
            return try StoreKey(validating: string)
        } catch {
            throw failure("StoreKey(validating:) rejected a valid key", expected: "'\(ConformanceFailure.escape(string))' accepted",
                          got: error.description, underlying: error, fileID: fileID, line: line)
        }
    }

    /// The bytes of `string` in UTF-8.
    static func bytes(_ string: String) -> Data { Data(string.utf8) }
}

/// A short description of a value for failure messages: sizes and a few bytes for `Data`.
func describe<T>(_ value: T) -> String {
    let any: Any = value
    if let data = any as? Data {
        let head = data.prefix(16).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        return "\(data.count) bytes [\(head.joined(separator: " "))\(data.count > 16 ? " …" : "")]"
    }
    if let keys = any as? [StoreKey] {
        return "[" + keys.map { "'\(ConformanceFailure.escape($0.rawValue))'" }.joined(separator: ", ") + "]"
    }
    if let names = any as? [String] {
        return "[" + names.map { "'\(ConformanceFailure.escape($0))'" }.joined(separator: ", ") + "]"
    }
    return ConformanceFailure.escape(String(describing: value))
}

/// Whether `lhs` comes before `rhs` in byte-wise UTF-8 order, computed here rather than taken
/// from ``StoreKey``'s `<`, so that the checks do not trust the code they check.
func bytewisePrecedes(_ lhs: String, _ rhs: String) -> Bool {
    Array(lhs.utf8).lexicographicallyPrecedes(Array(rhs.utf8))
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Opens `store`'s sub-store view of `prefix` (a generic hop, since the view's type names the
/// concrete store).
func makeSubStore<Store: KeyValueStore>(_ store: Store, _ prefix: StoreKey) -> any KeyValueStore {
    store.prefixed(KeyNamespace(prefix))
}

/// Time as an expiry check sees it: a manual clock moved forward, or real time waited out, in
/// units of one second of the manual clock or ``RealTimeExpiry/unit``.
///
/// In real time, a check's plan holds only if the machine keeps up with it: each wait ends at
/// `start + units × unit + grace`, so late wake-ups do not add up, and a wait that wakes more
/// than `grace` after its target, or that starts less than a unit before it (the calls since the
/// last wait took longer than the plan allows), notes in ``Lateness`` that the attempt ran
/// late, as does a failure more than a unit after the last wait ended (or after the timeline
/// started). An entry the check still expects to be live may then have expired, so a failure of a
/// late attempt is not the store's fault for certain, and ``ContractCheck/run(against:environment:)``
/// tries the check again.
struct CheckTimeline: Sendable {
    let clock: ManualWallClock?
    let realTime: RealTimeExpiry?
    private let lateness: Lateness
    /// Where real time started, and how many units the check has let pass.
    private let start = ContinuousClock.now
    private let elapsedUnits = Box(0)

    init(clock: ManualWallClock?, realTime: RealTimeExpiry?, lateness: Lateness = Lateness()) {
        self.clock = clock
        self.realTime = realTime
        self.lateness = lateness
        if clock == nil, let realTime { lateness.beginPhase(at: start, unit: realTime.unit) }
    }

    /// The real length of `units`.
    func lifetime(_ units: Int) -> Duration {
        if let realTime { return realTime.unit * units }
        return .seconds(units)
    }

    /// Now, by the clock the store reads.
    var now: Date { clock?.now ?? Date() }

    /// The date `units` after `date`.
    func date(_ date: Date, plus units: Int) -> Date {
        date.addingTimeInterval(lifetime(units).seconds)
    }

    /// How far a reported expiration date may lie from the expected one, in seconds.
    var tolerance: TimeInterval {
        realTime.map { $0.grace.seconds + $0.unit.seconds } ?? 1
    }

    /// Lets `units` pass: moves the clock, or sleeps until `units` more have passed since the
    /// timeline started, plus the grace.
    func advance(_ units: Int) async throws {
        if let clock {
            clock.advance(by: .seconds(units))
        } else if let realTime {
            let total = elapsedUnits.update { total -> Int in
                total += units
                return total
            }
            let target = start + realTime.unit * total + realTime.grace
            let arrived = ContinuousClock.now
            if arrived > target - realTime.grace - realTime.unit {
                lateness.note("the calls before the wait for unit \(total) ended \(arrived - (start + realTime.unit * (total - 1))) "
                              + "after unit \(total - 1), later than the plan allows")
            }
            try await Task.sleep(until: target, clock: .continuous)
            let woke = ContinuousClock.now
            if woke - target > realTime.grace {
                lateness.note("the wait for unit \(total) woke \(woke - target) late")
            }
            lateness.beginPhase(at: woke, unit: realTime.unit)
        }
    }

    /// Lets a long time pass, for checks that something does *not* expire: an hour on a clock,
    /// 20 units in real time (the check cannot wait an hour).
    func advanceLong() async throws {
        try await advance(clock == nil ? 20 : 3600)
    }
}

/// What one attempt of a check noted about waits that ran late in real time.
final class Lateness: Sendable {
    private let notes = Box<[String]>([])
    /// When the calls since the last wait began, and the unit they must finish within.
    private let phase = Box<(start: ContinuousClock.Instant, unit: Duration)?>(nil)

    /// Notes that a wait ran late, and how.
    func note(_ what: String) {
        notes.update { $0.append(what) }
    }

    /// Notes that the calls after a wait (or after the start) begin now.
    func beginPhase(at start: ContinuousClock.Instant, unit: Duration) {
        phase.update { $0 = (start, unit) }
    }

    /// Notes, at a failure, that the calls since the last wait took longer than a unit, so an
    /// entry they expected live may have expired meanwhile.
    func noteFailure() {
        guard let (start, unit) = phase.value else { return }
        let took = ContinuousClock.now - start
        if took > unit { note("the calls up to the failure took \(took) since the last wait, longer than a unit (\(unit))") }
    }

    /// What was noted, first first; empty if the attempt kept to its plan.
    var all: [String] { notes.value }
}

/// Thrown by ``CheckContext/skip(_:)``: the check does not apply.
struct CheckSkip: Error {
    let reason: String
}
