// Fuzzes the header that starts every value file of the file store, twice: EntryFileHeader's
// parser against a model of the documented layout (an accepted header is exactly the bytes
// that encoding writes), and a real FileSystemStore reading a value file holding the input,
// which must give back the value exactly when the model accepts the file, an integrity error
// otherwise, and never crash.
//
// Input: the bytes of the value file.
import Foundation
import FuzzSupport
@testable import Trove

/// A header by the documented layout, or `nil` when the bytes are not one.
struct ModelHeader {
    var flags: UInt64, etagHigh: UInt64, etagLow: UInt64, expires: Int64, written: Int64

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 40, bytes[0..<4].elementsEqual("TRV1".utf8) else { return nil }
        flags = littleEndian(bytes, at: 4, width: 4)
        etagHigh = littleEndian(bytes, at: 8, width: 8)
        etagLow = littleEndian(bytes, at: 16, width: 8)
        expires = Int64(bitPattern: littleEndian(bytes, at: 24, width: 8))
        written = Int64(bitPattern: littleEndian(bytes, at: 32, width: 8))
        // Bits 0 (an expiry) and 1 (a key trailer) only; bit 0 set exactly when there is an expiry.
        guard flags & ~3 == 0, (flags & 1 != 0) == (expires != 0) else { return nil }
    }

    var hasTrailer: Bool { flags & 2 != 0 }
}

/// The store's fixed clock: 2027-01-15, in nanoseconds since 1970.
let now = Date(timeIntervalSince1970: 1_800_000_000)
let nowNanoseconds: Int64 = 1_800_000_000_000_000_000

let root = scratchDirectory("file-header")
let store = try! FileSystemStore(root: URL(fileURLWithPath: root), clock: WallClock { now })
let shortKey: StoreKey = "k"
let longKey = try! StoreKey(validating: String(repeating: "x", count: 300))

func checkParser(_ input: [UInt8]) {
    let model = ModelHeader(input)
    let parsed = input.withUnsafeBytes { EntryFileHeader(bytes: $0) }
    require((parsed != nil) == (model != nil), "header accepted: \(parsed != nil), by the model: \(model != nil)")
    guard let parsed, let model else { return }
    require(parsed.etagHigh == model.etagHigh && parsed.etagLow == model.etagLow && parsed.expiresAtNanoseconds == model.expires
            && parsed.writtenAtNanoseconds == model.written && parsed.hasKeyTrailer == model.hasTrailer, "fields differ from the model")
    require((parsed.expirationDate == nil) == (model.expires == 0), "expirationDate")
    // No wrong success: what was accepted is exactly what encoding writes.
    var encoded = [UInt8](repeating: 0, count: EntryFileHeader.size)
    encoded.withUnsafeMutableBytes { parsed.encode(into: $0) }
    require(encoded == Array(input.prefix(40)), "accepted header \(hex(input.prefix(40))) encodes as \(hex(encoded))")
}

/// Puts `input` in the value file of `key` and reads `key` through the store.
func checkStore(_ input: [UInt8], key: StoreKey) {
    let location = EntryLocation(key)
    writeFile(root + "/" + location.relativePath, input)
    let outcome = blocking { () -> Result<StoreEntry?, any Error> in
        do { return .success(try await store.read(key)) } catch { return .failure(error) }
    }
    let trailer = location.file.isShortened ? Array(key.rawValue.utf8) : []
    let trailerLength = location.file.isShortened ? trailer.count + 4 : 0
    let valueLength = input.count - 40 - trailerLength
    // What the model expects: an error, nothing (expired), or the value.
    var expected: [UInt8]?? = .none
    if valueLength >= 0, let model = ModelHeader(input) {
        if model.expires != 0 && model.expires <= nowNanoseconds {
            expected = .some(nil)
        } else if model.hasTrailer == location.file.isShortened,
                  input[(40 + valueLength)...].starts(with: trailer) {
            expected = .some(Array(input[40..<(40 + valueLength)]))
        }
    }
    switch outcome {
    case .success(let entry):
        guard let value = expected else {
            require(false, "a damaged value file read as a success (\(entry == nil ? "no value" : "a value")): \(hex(input))")
            return
        }
        require(entry.map { Array($0.value) } == value, "read \(entry.map { hex($0.value) } ?? "nil") from \(hex(input))")
        if let entry, let model = ModelHeader(input) {
            require(entry.metadata.etag == ETag(high: model.etagHigh, low: model.etagLow), "ETag differs from the header's")
            require(entry.metadata.size == Int64(valueLength) && entry.metadata.key == key, "size or key of the metadata")
        }
    case .failure(let error):
        require(expected == nil, "a valid value file failed to read: \(error) (\(hex(input)))")
        require((error as? StoreError)?.code == .integrity, "a damaged value file gave \(error), not an integrity error")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = bytes(start, count)
    checkParser(input)
    checkStore(input, key: shortKey)
    // A header saying a key trailer follows belongs to a file with a shortened name.
    if input.count >= 8, input[4] & 2 != 0 { checkStore(input, key: longKey) }
    return 0
}
