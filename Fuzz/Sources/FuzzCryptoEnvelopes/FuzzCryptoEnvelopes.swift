// Fuzzes TroveCrypto's envelopes through SignedStore and EncryptedStore (AES-GCM and
// ChaCha20-Poly1305) over a memory store: arbitrary stored bytes never verify or decrypt, an
// authentic envelope changed in any way never does either, and nothing crashes; the authentic
// envelope itself reads back as its value.
//
// Input: a first byte choosing the layer (byte / 2 % 3) and the mode (byte % 2); in mode 0 the
// rest is the stored bytes, in mode 1 it is a list of edits (3 bytes each: what, where, which
// byte) applied to an authentic envelope of the layer.
import Crypto
import Foundation
import FuzzSupport
import Trove
import TroveCrypto

let memory = MemoryStore()
let keyring = try! Keyring(current: 1, key: SymmetricKey(data: (0..<32).map { UInt8($0) }))
let layers: [any KeyValueStore] = [
    SignedStore(base: memory, keyring: keyring),
    EncryptedStore(base: memory, keyring: keyring, algorithm: .aes256GCM),
    EncryptedStore(base: memory, keyring: keyring, algorithm: .chaCha20Poly1305),
]
let keys: [StoreKey] = ["fuzz/signed", "fuzz/aes-gcm", "fuzz/chacha20-poly1305"]
let value = Data("the value, sealed; any change to its envelope must be found".utf8)

/// The authentic envelope of `value` under each layer's key, as stored in the base.
let authentic: [[UInt8]] = (0..<layers.count).map { index in
    blocking { () -> [UInt8] in
        _ = try! await layers[index].set(value, for: keys[index])
        return Array(try! await memory.read(keys[index])!.value)
    }
}

/// `envelope` with `edits` applied, 3 bytes each: flip, cut, insert or delete a byte.
func edited(_ envelope: [UInt8], _ edits: ArraySlice<UInt8>) -> [UInt8] {
    var bytes = envelope
    var edits = edits
    while edits.count >= 3 {
        let what = edits.removeFirst(), whereByte = edits.removeFirst(), which = edits.removeFirst()
        let position = bytes.isEmpty ? 0 : Int(whereByte) * 7 % bytes.count
        switch what % 4 {
        case 0: if !bytes.isEmpty { bytes[position] ^= which == 0 ? 1 : which }
        case 1: bytes.removeSubrange(position...)
        case 2: bytes.insert(which, at: position)
        default: if !bytes.isEmpty { bytes.remove(at: position) }
        }
    }
    return bytes
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = bytes(start, count)
    guard let first = input.first else { return 0 }
    let index = Int(first / 2) % layers.count
    let stored = first % 2 == 0 ? Array(input.dropFirst()) : edited(authentic[index], input.dropFirst())
    let isAuthentic = stored == authentic[index]
    let layer = layers[index], key = keys[index]
    let outcome = blocking { () -> Result<StoreEntry?, any Error> in
        do {
            try await memory.set(Data(stored), for: key)
            return .success(try await layer.read(key))
        } catch {
            return .failure(error)
        }
    }
    switch outcome {
    case .success(let entry):
        require(isAuthentic, "\(layer) accepted a forged or changed envelope: \(hex(stored))")
        require(entry?.value == value, "the authentic envelope read as \(entry.map { hex($0.value) } ?? "nil")")
    case .failure(let error):
        require(!isAuthentic, "the authentic envelope failed to read: \(error)")
        require((error as? StoreError)?.code == .integrity, "a changed envelope gave \(error), not an integrity error")
    }
    return 0
}
