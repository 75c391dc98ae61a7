public import Foundation
import Synchronization

/// Makes unique keys that sort in the order they were made: ULIDs, 26 characters of Crockford
/// base32 such as `01J9ZQ3V6RW4TT3B9X8M2N5KQH`.
///
/// A key is a 48-bit count of milliseconds since 1970 followed by 80 random bits, written with
/// the digits `0-9` and the capitals `A-Z` without `I`, `L`, `O` and `U`. Both the text and its
/// bytes sort like the number, so a store's listing (byte-wise key order) is creation order:
///
///     let generator = TimeOrderedKeyGenerator()
///     let first = generator.makeKey()
///     let second = generator.makeKey()
///     assert(first < second)                   // always, even within one millisecond
///
/// Within one generator keys are strictly increasing: a key made in the same millisecond as
/// the previous one (or after the clock stepped back) is the previous one plus one, as the ULID
/// specification's monotonic mode has it, and if the 80 bits ever run out the generator moves
/// on to the next millisecond rather than repeat itself. Keys from different generators or
/// processes are unique by their 80 random bits and ordered to the millisecond.
///
/// ``shared`` is the generator behind ``StoreKey/timeOrdered()``: one per process, so that every
/// caller's keys fall in one increasing sequence. Its only state is the last key it made, kept
/// under a `Mutex`; make a generator of your own to inject a clock in tests.
///
/// - Implementation details: The random bits come from `SystemRandomNumberGenerator`
///   (`getrandom(2)` on Linux), drawn outside the lock and only for a key in a millisecond
///   later than the previous one's; the lock is held for a few comparisons.
public final class TimeOrderedKeyGenerator: Sendable {
    /// The process-wide generator, used by ``StoreKey/timeOrdered()``.
    public static let shared = TimeOrderedKeyGenerator()

    /// The number of characters in a key made by a generator.
    public static let keyLength = 26

    private static let largestTimestamp: UInt64 = (1 << 48) - 1
    private static let largestRandom: UInt128 = (1 << 80) - 1
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    private struct State {
        var millisecond: UInt64 = 0
        var random: UInt128 = 0
        var hasIssued = false
    }

    private let clock: WallClock
    private let drawRandom: @Sendable () -> UInt128
    private let state = Mutex(State())

    /// Creates a generator that reads the time from `clock`.
    ///
    /// - Parameter clock: Where the time comes from. Defaults to the system's clock.
    public convenience init(clock: WallClock = .system) {
        self.init(clock: clock) { UInt128.random(in: 0...TimeOrderedKeyGenerator.largestRandom) }
    }

    /// Creates a generator with its own source of 80-bit random numbers (for tests).
    init(clock: WallClock, random: @escaping @Sendable () -> UInt128) {
        self.clock = clock
        self.drawRandom = random
    }

    /// A new key, greater than every key this generator made before.
    public func makeKey() -> StoreKey {
        StoreKey(unchecked: makeText())
    }

    /// A new key under `prefix`: `prefix/` followed by a key as ``makeKey()`` makes it.
    ///
    ///     let key = try generator.makeKey(under: "events")   // events/01J9ZQ3V6RW4TT3B9X8M2N5KQH
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` when `prefix` is too long to leave room for the
    ///   key's 27 bytes (a slash and 26 characters).
    public func makeKey(under prefix: StoreKey) throws(StoreError) -> StoreKey {
        try prefix.appending(makeKey())
    }

    /// The moment, to the millisecond, at which a generator made `key`, read from its last
    /// segment; `nil` if that segment is not a ULID.
    ///
    /// Accepts lowercase letters too. The date is the generator's clock, so a key made after the
    /// clock stepped back, or in a burst that outran the random bits, shows the time of an
    /// earlier key.
    public static func date(of key: StoreKey) -> Date? {
        let text = Array(key.lastSegment.utf8)
        guard text.count == keyLength else { return nil }
        var value: UInt128 = 0
        for character in text {
            guard let digit = digitValue(of: character) else { return nil }
            value = value << 5 | UInt128(digit)
        }
        guard let first = text.first, let top = digitValue(of: first), top < 8 else { return nil }
        let milliseconds = UInt64(truncatingIfNeeded: value >> 80)
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// The next key's text: the clock's millisecond and fresh random bits, or the previous key
    /// plus one when the clock has not moved past the previous key's millisecond.
    private func makeText() -> String {
        let now = currentMillisecond()
        // Within the previous key's millisecond the next key is that one plus one: no random
        // bits to draw (a system call each).
        let next = state.withLock { state -> UInt128? in
            guard state.hasIssued, now <= state.millisecond, state.random < Self.largestRandom else { return nil }
            state.random += 1
            return UInt128(state.millisecond) << 80 | state.random
        }
        if let next { return Self.encode(next) }
        let fresh = drawRandom() & Self.largestRandom
        let value = state.withLock { state -> UInt128 in
            if !state.hasIssued || now > state.millisecond {
                state.millisecond = now
                state.random = fresh
            } else if state.random < Self.largestRandom {
                state.random += 1
            } else {
                // 2^80 keys in one millisecond: borrow the next millisecond rather than repeat.
                state.millisecond = min(state.millisecond + 1, Self.largestTimestamp)
                state.random = fresh
            }
            state.hasIssued = true
            return UInt128(state.millisecond) << 80 | state.random
        }
        return Self.encode(value)
    }

    /// The clock's time in whole milliseconds since 1970, clamped to 0...2^48 - 1.
    private func currentMillisecond() -> UInt64 {
        let milliseconds = (clock.now.timeIntervalSince1970 * 1000).rounded(.down)
        guard milliseconds.isFinite, milliseconds > 0 else { return 0 }
        guard milliseconds < Double(Self.largestTimestamp) else { return Self.largestTimestamp }
        return UInt64(milliseconds)
    }

    /// `value` as 26 Crockford base32 digits, most significant first (the first digit holds
    /// the top 3 of 128 bits).
    private static func encode(_ value: UInt128) -> String {
        String(unsafeUninitializedCapacity: keyLength) { buffer in
            for index in 0..<keyLength {
                let shift = 125 - 5 * index
                buffer[index] = alphabet[Int(truncatingIfNeeded: (value >> shift) & 31)]
            }
            return keyLength
        }
    }

    /// The value of one Crockford base32 digit (either case), or `nil` if it is not one.
    private static func digitValue(of character: UInt8) -> UInt8? {
        let upper = character >= UInt8(ascii: "a") && character <= UInt8(ascii: "z") ? character - 32 : character
        guard let index = alphabet.firstIndex(of: upper) else { return nil }
        return UInt8(index)
    }
}
