import Foundation
import Trove
#if canImport(Glibc)
import Glibc
#endif

/// The keys of the crash campaign: 24 of them, some nested, and one (`crash/nested`) that is a
/// value and a prefix of others at once.
enum CrashKeys {
    static let all: [StoreKey] = (0..<24).map { index in
        let name: String
        switch index {
        case 23: name = "crash/nested"
        case 12..<23: name = "crash/nested/k\(index)"
        default: name = "crash/k\(index)"
        }
        return try! StoreKey(validating: name)
    }

    static func index(of text: Substring) -> Int? { all.firstIndex { $0.rawValue == text } }
}

/// The operations of the crash writer, as they appear in its `begin` lines.
enum CrashOperation: String, CaseIterable {
    /// An unconditional write of a small (up to 4 KiB) or mid-sized (up to 512 KiB) value.
    case put
    /// A write only if the key is absent.
    case putIfAbsent = "put-if-absent"
    /// A write only if the key's ETag is the given one (the last one the writer saw, or now and
    /// then a stale one).
    case putIfMatches = "put-if-matches"
    /// An 8 MiB value streamed in chunks with `write(contentsOf:)`, some with `expectedSize`,
    /// some conditional.
    case stream
    /// A streamed write whose `expectedSize` is one byte off: it must fail with
    /// `invalidArgument` and change nothing.
    case streamWrongSize = "stream-wrong-size"
    /// An unconditional delete.
    case delete
    /// A delete only if the key's ETag is the given one.
    case deleteIfMatches = "delete-if-matches"

    var isWrite: Bool { self != .delete && self != .deleteIfMatches }
    var isStream: Bool { self == .stream || self == .streamWrongSize }
}

/// The size of the streamed values' bodies: 8 MiB.
let streamedBodySize = 8 << 20

/// An ETag no store makes: a conditional operation on it must be refused.
let staleETag = ETag("stale-etag-of-no-write")

/// The writer process of the crash campaign: runs a seeded random mix of operations on the 24
/// keys until it is killed, printing `begin <serial> <operation> <key> <size> <condition>` before
/// each operation and `ack <serial> <outcome>` once it returned, each line with one write(2):
///
///     ack <serial> stored <size> <etag>    a write stored its value
///     ack <serial> refused                 a condition did not hold (conditionFailed)
///     ack <serial> invalid                 the wrong expectedSize was refused (invalidArgument)
///     ack <serial> deleted <true|false>    a delete returned
///     fail <serial> <error>                anything else; the writer then exits with status 1
///
/// `<condition>` is `always`, `absent` or `etag:<etag>`.
struct CrashWriter {
    let configuration: StoreConfiguration
    let location: URL
    let firstSerial: Int
    let seed: UInt64
    /// An upper bound, so that a writer nobody kills ends on its own.
    let operationLimit = 200_000

    func run() async throws {
        var generator = SeededGenerator(seed: seed)
        // A writer whose campaign died (interrupted, say) stops instead of writing on.
        let parent = getppid()
        let store = try await configuration.open(location)
        // What the writer last saw of each key, for its conditional operations.
        var seen: [StoreKey: ETag] = [:]
        for key in CrashKeys.all {
            if let metadata = try await store.metadata(for: key) { seen[key] = metadata.etag }
        }
        emitLine("ready")
        for serial in firstSerial..<(firstSerial + operationLimit) {
            if getppid() != parent { return }
            let key = CrashKeys.all[Int.random(in: 0..<CrashKeys.all.count, using: &generator)]
            let operation = Self.pickOperation(using: &generator)
            let roll = Int.random(in: 0..<100, using: &generator)
            let bodySize: Int
            switch operation {
            case .stream, .streamWrongSize: bodySize = streamedBodySize
            case .delete, .deleteIfMatches: bodySize = 0
            default: bodySize = roll < 60 ? Int.random(in: 0...4000, using: &generator) : Int.random(in: 4001...(512 << 10), using: &generator)
            }
            let condition: WriteCondition
            switch operation {
            case .put, .streamWrongSize, .delete: condition = .always
            case .putIfAbsent: condition = .ifAbsent
            case .putIfMatches, .deleteIfMatches: condition = .ifMatches(roll % 5 == 0 ? staleETag : (seen[key] ?? staleETag))
            case .stream: condition = roll < 60 ? .always : roll < 80 ? .ifAbsent : .ifMatches(roll % 7 == 0 ? staleETag : (seen[key] ?? staleETag))
            }
            let conditionText = condition.isAlways ? "always" : condition.requiresAbsence ? "absent" : "etag:\(condition.expectedETag!.rawValue)"
            let value = operation.isWrite ? SelfDescribingValue.make(serial: serial, key: key, bodySize: bodySize) : Data()
            emitLine("begin \(serial) \(operation.rawValue) \(key.rawValue) \(value.count) \(conditionText)")
            do {
                switch operation {
                case .put, .putIfAbsent, .putIfMatches:
                    let metadata = try await store.set(value, for: key, condition: condition)
                    seen[key] = metadata.etag
                    emitLine("ack \(serial) stored \(metadata.size) \(metadata.etag.rawValue)")
                case .stream, .streamWrongSize:
                    var sizes: [Int] = []
                    var total = 0
                    while total < value.count {
                        let size = Int.random(in: 1...16, using: &generator) * (64 << 10) + (roll % 3 == 0 ? Int.random(in: 1...4095, using: &generator) : 0)
                        sizes.append(size)
                        total += size
                    }
                    let expected: Int64? = operation == .streamWrongSize ? Int64(value.count + 1) : roll % 2 == 0 ? Int64(value.count) : nil
                    let metadata = try await store.set(contentsOf: SlicedChunks(value: value, sizes: sizes), for: key,
                                                       condition: condition, expectedSize: expected)
                    seen[key] = metadata.etag
                    emitLine("ack \(serial) stored \(metadata.size) \(metadata.etag.rawValue)")
                case .delete, .deleteIfMatches:
                    let deleteCondition: DeleteCondition = condition.expectedETag.map { DeleteCondition.ifMatches($0) } ?? .always
                    let deleted = try await store.delete(key, condition: deleteCondition)
                    seen[key] = nil
                    emitLine("ack \(serial) deleted \(deleted)")
                }
            } catch let error as StoreError where error.code == .conditionFailed {
                emitLine("ack \(serial) refused")
                seen[key] = try await store.metadata(for: key)?.etag
            } catch let error as StoreError where error.code == .invalidArgument && operation == .streamWrongSize {
                emitLine("ack \(serial) invalid")
            } catch {
                emitLine("fail \(serial) \(String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " "))")
                throw error
            }
        }
    }

    /// Draws an operation: writes of every kind most of the time, streams often enough that
    /// many kills land inside one, deletes so that keys come and go.
    static func pickOperation(using generator: inout SeededGenerator) -> CrashOperation {
        switch Int.random(in: 0..<100, using: &generator) {
        case 0..<30: .put
        case 30..<40: .putIfAbsent
        case 40..<54: .putIfMatches
        case 54..<65: .stream
        case 65..<68: .streamWrongSize
        case 68..<86: .delete
        default: .deleteIfMatches
        }
    }
}
