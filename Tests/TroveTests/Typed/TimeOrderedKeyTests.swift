import Foundation
import Synchronization
import Testing
@testable import Trove
import TroveTestSupport

/// Time-ordered keys are unique ULIDs whose byte order is creation order.
@Suite("Time-ordered keys")
struct TimeOrderedKeyTests {
    private static let crockford = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    @Test(arguments: typedFixtures)
    func tenThousandKeysAreUniqueAndListInCreationOrder(_ fixture: ConformanceFixture) async throws {
        var made: [StoreKey] = []
        made.reserveCapacity(10_000)
        for _ in 0..<10_000 { made.append(StoreKey.timeOrdered()) }

        #expect(Set(made).count == 10_000)
        #expect(zip(made, made.dropFirst()).allSatisfy { $0 < $1 })
        #expect(made.allSatisfy { $0.byteCount == 26 && $0.rawValue.utf8.allSatisfy(Self.crockford.contains) })

        try await fixture.withFreshStore { store, _ in
            let events = AnyKeyValueStore(store).prefixed("events").typed(as: Int.self)
            // Written in a shuffled order, so only the keys can put them back in order.
            for index in made.indices.shuffled() { try await events.set(index, for: made[index]) }
            // One pass over the listing: each key comes back where it was made, with its value.
            var position = 0
            var inOrder = true
            for try await (key, value) in try events.items() {
                inOrder = inOrder && position < made.count && key == made[position] && value == position
                position += 1
            }
            #expect(inOrder)
            #expect(position == 10_000)
        }
    }

    @Test func keysMadeWithinOneMillisecondStillIncrease() {
        let clock = ManualWallClock(start: Date(timeIntervalSince1970: 1_469_918_176.385))
        let generator = TimeOrderedKeyGenerator(clock: clock.wallClock)
        let keys = (0..<1_000).map { _ in generator.makeKey() }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
        // All in the same millisecond: the same time digits, the random part counting up by one.
        #expect(Set(keys.map { $0.rawValue.prefix(10) }) == ["01ARYZ6S41"])
        #expect(keys.allSatisfy { TimeOrderedKeyGenerator.date(of: $0) == Date(timeIntervalSince1970: 1_469_918_176.385) })
    }

    @Test func randomBitsAreDrawnOnlyForANewMillisecond() {
        let clock = ManualWallClock(start: Date(timeIntervalSince1970: 1_000))
        let draws = Mutex(0)
        let generator = TimeOrderedKeyGenerator(clock: clock.wallClock, random: {
            draws.withLock { $0 += 1 }
            return 0x1234
        })
        let first = (0..<100).map { _ in generator.makeKey() }
        #expect(draws.withLock { $0 } == 1)
        clock.advance(by: .milliseconds(1))
        let second = (0..<100).map { _ in generator.makeKey() }
        #expect(draws.withLock { $0 } == 2)
        let all = first + second
        #expect(zip(all, all.dropFirst()).allSatisfy { $0 < $1 })
        #expect(TimeOrderedKeyGenerator.date(of: second[0]) == Date(timeIntervalSince1970: 1_000.001))
    }

    @Test func theEncodingIsTheULIDOne() {
        // The ULID specification's example timestamp, with the random part fixed.
        let clock = ManualWallClock(start: Date(timeIntervalSince1970: 1_469_918_176.385))
        let zero = TimeOrderedKeyGenerator(clock: clock.wallClock, random: { 0 })
        #expect(zero.makeKey() == "01ARYZ6S410000000000000000")
        #expect(zero.makeKey() == "01ARYZ6S410000000000000001")
        let ones = TimeOrderedKeyGenerator(clock: WallClock { Date(timeIntervalSince1970: 0) }, random: { 0x1F })
        #expect(ones.makeKey() == "0000000000000000000000000Z")
    }

    @Test func aClockThatStepsBackDoesNotReorderKeys() {
        let now = Mutex(Date(timeIntervalSince1970: 1_700_000_000))
        let generator = TimeOrderedKeyGenerator(clock: WallClock { now.withLock { $0 } })
        let before = generator.makeKey()
        now.withLock { $0 = $0.addingTimeInterval(-5) }
        let after = generator.makeKey()
        #expect(before < after)
        #expect(TimeOrderedKeyGenerator.date(of: after) == Date(timeIntervalSince1970: 1_700_000_000))
        now.withLock { $0 = $0.addingTimeInterval(10) }
        let later = generator.makeKey()
        #expect(after < later)
        #expect(TimeOrderedKeyGenerator.date(of: later) == Date(timeIntervalSince1970: 1_700_000_005))
    }

    @Test func runningOutOfRandomBitsMovesToTheNextMillisecond() throws {
        let clock = ManualWallClock(start: Date(timeIntervalSince1970: 1_000))
        let largest: UInt128 = (1 << 80) - 1
        let generator = TimeOrderedKeyGenerator(clock: clock.wallClock, random: { largest })
        let full = generator.makeKey()
        let next = generator.makeKey()
        let afterThat = generator.makeKey()
        #expect(full.rawValue.hasSuffix("ZZZZZZZZZZZZZZZZ"))
        #expect(full < next)
        #expect(next < afterThat)
        let fullDate = try #require(TimeOrderedKeyGenerator.date(of: full))
        let nextDate = try #require(TimeOrderedKeyGenerator.date(of: next))
        #expect(fullDate == Date(timeIntervalSince1970: 1_000))
        #expect(nextDate == Date(timeIntervalSince1970: 1_000.001))
    }

    @Test func prefixesAndParsing() throws {
        let key = try StoreKey.timeOrdered(under: "events/2024")
        #expect(key.parent == "events/2024")
        #expect(key.lastSegment.count == 26)
        let date = try #require(TimeOrderedKeyGenerator.date(of: key))
        #expect(abs(date.timeIntervalSinceNow) < 60)
        #expect(TimeOrderedKeyGenerator.date(of: StoreKey(stringLiteral: key.lastSegment.lowercased())) == date)

        #expect(TimeOrderedKeyGenerator.date(of: "events") == nil)
        #expect(TimeOrderedKeyGenerator.date(of: "0000000000000000000000000U") == nil)   // U is not a digit
        #expect(TimeOrderedKeyGenerator.date(of: "80000000000000000000000000") == nil)   // more than 128 bits
        #expect(TimeOrderedKeyGenerator.date(of: "7ZZZZZZZZZZZZZZZZZZZZZZZZZ") != nil)

        let longPrefix = try StoreKey(validating: String(repeating: "p", count: 1_000))
        let error = try #require(throws: StoreError.self) { try StoreKey.timeOrdered(under: longPrefix) }
        #expect(error.code == .invalidKey)
    }

    @Test func concurrentCallersGetUniqueIncreasingKeys() async throws {
        let generator = TimeOrderedKeyGenerator()
        let batches = try await withThrowingTaskGroup(of: [StoreKey].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<1_000).map { _ in generator.makeKey() } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(batches.allSatisfy { batch in zip(batch, batch.dropFirst()).allSatisfy { $0 < $1 } })
        #expect(Set(batches.joined()).count == 8_000)
    }

    @Test func separateGeneratorsDoNotCollide() {
        let clock = ManualWallClock()
        let first = TimeOrderedKeyGenerator(clock: clock.wallClock)
        let second = TimeOrderedKeyGenerator(clock: clock.wallClock)
        let keys = (0..<500).flatMap { _ in [first.makeKey(), second.makeKey()] }
        #expect(Set(keys).count == 1_000)
    }
}
