// Fuzzes the headers that layers put in front of values: the expiring layer's envelope
// (ExpiryEnvelope, and an ExpiringStore reading arbitrary stored bytes) and the cache's
// envelope (CacheEnvelope), each against a model of its documented layout. Arbitrary bytes give
// an integrity error or a malformed result, never a crash; an accepted envelope is exactly
// what encoding writes.
//
// Input: the stored bytes.
import Foundation
import FuzzSupport
@testable import Trove

// MARK: - Expiry envelope

/// The expiry envelope by its documented layout (little-endian), or `nil` if the bytes are not one.
struct ModelExpiry {
    var flags: UInt8, versionHigh: UInt64, versionLow: UInt64, written: Double, deadline: Double, window: Double

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 48, bytes[0..<4].elementsEqual("TVX1".utf8) else { return nil }
        flags = bytes[4]
        guard flags & ~3 == 0, bytes[5] == 0, bytes[6] == 0, bytes[7] == 0 else { return nil }
        versionHigh = littleEndian(bytes, at: 8, width: 8)
        versionLow = littleEndian(bytes, at: 16, width: 8)
        written = Double(bitPattern: littleEndian(bytes, at: 24, width: 8))
        deadline = Double(bitPattern: littleEndian(bytes, at: 32, width: 8))
        window = Double(bitPattern: littleEndian(bytes, at: 40, width: 8))
        guard written.isFinite, deadline.isFinite, window.isFinite, window >= 0 else { return nil }
    }

    var hasDeadline: Bool { flags & 1 != 0 }
    var hasWindow: Bool { flags & 2 != 0 }
}

func checkExpiryEnvelope(_ input: [UInt8]) {
    let model = ModelExpiry(input)
    switch ExpiryEnvelope.decode(Data(input)) {
    case .failure:
        require(model == nil, "a valid expiry envelope was refused: \(hex(input.prefix(48)))")
    case .success(let envelope):
        guard let model else { return require(false, "an invalid expiry envelope was accepted: \(hex(input.prefix(48)))") }
        require(envelope.versionHigh == model.versionHigh && envelope.versionLow == model.versionLow, "version")
        require(envelope.writtenAt.timeIntervalSinceReferenceDate.bitPattern == model.written.bitPattern, "writtenAt")
        require(envelope.deadline?.timeIntervalSinceReferenceDate.bitPattern == (model.hasDeadline ? model.deadline.bitPattern : nil), "deadline")
        require(envelope.window?.bitPattern == (model.hasWindow ? model.window.bitPattern : nil), "window")
        // Encoding writes the same bytes, but for the fields a flag says are absent, which it zeroes.
        var expected = Array(input.prefix(48))
        if !model.hasDeadline { expected.replaceSubrange(32..<40, with: repeatElement(0, count: 8)) }
        if !model.hasWindow { expected.replaceSubrange(40..<48, with: repeatElement(0, count: 8)) }
        let encoded = Array(envelope.encoded())
        require(encoded == expected, "envelope \(hex(input.prefix(48))) encodes as \(hex(encoded))")
        require((try? ExpiryEnvelope.decode(Data(encoded)).get()) == envelope, "the encoding does not decode to the envelope")
        if let refreshed = envelope.refreshed(at: now) {
            require(envelope.window != nil, "refreshed without a window")
            let before = envelope.deadline?.timeIntervalSinceReferenceDate ?? -.infinity
            require(refreshed.deadline.map { $0.timeIntervalSinceReferenceDate > before } == true, "a refresh did not move the deadline on")
            _ = refreshed.encoded()
        }
    }
}

let now = Date(timeIntervalSince1970: 1_800_000_000)
let memory = MemoryStore(clock: WallClock { now })
let expiring = ExpiringStore(base: memory, sliding: true, clock: WallClock { now })
let key: StoreKey = "fuzz/key"

/// Stores `input` as it is in the base and reads it through the expiring layer.
func checkExpiringStore(_ input: [UInt8]) {
    let model = ModelExpiry(input)
    let outcome = blocking { () -> Result<StoreEntry?, any Error> in
        do {
            try await memory.set(Data(input), for: key)
            return .success(try await expiring.read(key))
        } catch {
            return .failure(error)
        }
    }
    switch outcome {
    case .failure(let error):
        require(model == nil, "a valid envelope failed to read: \(error) (\(hex(input.prefix(48))))")
        require((error as? StoreError)?.code == .integrity, "an invalid envelope gave \(error), not an integrity error")
    case .success(let entry):
        guard let model else { return require(false, "an invalid envelope read as a success: \(hex(input.prefix(48)))") }
        let deadline = model.hasDeadline ? Date(timeIntervalSinceReferenceDate: model.deadline) : nil
        if let deadline, deadline <= now {
            require(entry == nil, "an expired entry was read")
        } else {
            guard let entry else { return require(false, "a live entry read as missing: \(hex(input.prefix(48)))") }
            require(Array(entry.value) == Array(input.dropFirst(48)), "the value is not the bytes after the envelope")
            require(entry.metadata.etag == ETag(high: model.versionHigh, low: model.versionLow), "the ETag is not the envelope's version")
            require(entry.metadata.size == Int64(input.count - 48), "size \(entry.metadata.size)")
        }
    }
}

// MARK: - Cache envelope

/// The cache envelope by its documented layout (big-endian).
enum ModelCache {
    case placeholder
    case copy(flags: UInt8, size: UInt64, dates: [UInt64], etag: String, valueOffset: Int)
    case malformed

    init(_ bytes: [UInt8]) {
        guard bytes.count >= 5, bytes[0..<4].elementsEqual("TRVC".utf8) else { self = .malformed; return }
        if bytes[4] == 2 { self = bytes.count == 5 ? .placeholder : .malformed; return }
        guard bytes[4] == 1, bytes.count >= 22, bytes[5] & ~3 == 0 else { self = .malformed; return }
        let flags = bytes[5]
        let size = bigEndian(bytes, at: 6, width: 8)
        var dates = [bigEndian(bytes, at: 14, width: 8)]
        var offset = 22
        for bit in [UInt8(1), 2] where flags & bit != 0 {
            guard bytes.count >= offset + 8 else { self = .malformed; return }
            dates.append(bigEndian(bytes, at: offset, width: 8))
            offset += 8
        }
        guard bytes.count >= offset + 2 else { self = .malformed; return }
        let etagLength = Int(bigEndian(bytes, at: offset, width: 2))
        offset += 2
        guard etagLength > 0, bytes.count >= offset + etagLength,
              let etag = String(validating: bytes[offset..<(offset + etagLength)], as: UTF8.self) else { self = .malformed; return }
        offset += etagLength
        guard size <= UInt64(Int64.max), UInt64(bytes.count - offset) == size else { self = .malformed; return }
        self = .copy(flags: flags, size: size, dates: dates, etag: etag, valueOffset: offset)
    }
}

func bits(_ date: Date?) -> UInt64? { date?.timeIntervalSinceReferenceDate.bitPattern }

func checkCacheEnvelope(_ input: [UInt8]) {
    let data = Data(input)
    let parsed = CacheEnvelope.parse(data, key: key)
    switch (ModelCache(input), parsed) {
    case (.placeholder, .placeholder), (.malformed, .malformed):
        break
    case (.copy(let flags, let size, let dates, let etag, let valueOffset), .copy(let metadata, let offset)):
        require(offset == valueOffset && metadata.size == Int64(size) && metadata.etag == ETag(etag) && metadata.key == key,
                "copy fields differ from the model")
        var expectedDates: [UInt64?] = [dates[0], nil, nil]
        var next = 1
        if flags & 1 != 0 { expectedDates[1] = dates[next]; next += 1 }
        if flags & 2 != 0 { expectedDates[2] = dates[next] }
        require([bits(metadata.modificationDate), bits(metadata.creationDate), bits(metadata.expirationDate)] == expectedDates, "dates")
        // No wrong success: the envelope is exactly what encoding writes for its value and metadata.
        let value = CacheEnvelope.value(in: data, at: offset)
        let encoded = CacheEnvelope.encode(value, metadata: metadata).map(Array.init)
        require(encoded == input, "accepted copy \(hex(input)) encodes as \(encoded.map(hex) ?? "nil")")
        if case .copy(let entry) = CacheEnvelope.decode(data, key: key) {
            require(entry.value == value, "decode's value differs from parse's")
        } else {
            require(false, "parse gave a copy, decode did not")
        }
    default:
        require(false, "cache envelope \(hex(input)): parsed as \(parsed), the model says otherwise")
    }
    // The header of a prefix: asks for more bytes than it has, up to where a copy's value starts.
    let cut = input.isEmpty ? 0 : Int(input[input.count - 1]) % (input.count + 1)
    let header = CacheEnvelope.header(of: Data(input.prefix(cut)), key: key)
    if case .needsBytes(let needed) = header { require(needed > cut, "needsBytes(\(needed)) for \(cut) bytes") }
    if case .copy(_, let valueOffset) = parsed {
        switch header {
        case .copy(_, let offset): require(cut >= valueOffset && offset == valueOffset, "prefix header offset")
        case .needsBytes(let needed): require(cut < valueOffset && needed <= valueOffset, "needsBytes(\(needed)) past the value at \(valueOffset)")
        default: require(false, "the prefix of \(cut) bytes of a copy is \(header)")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = bytes(start, count)
    checkExpiryEnvelope(input)
    checkExpiringStore(input)
    checkCacheEnvelope(input)
    return 0
}
