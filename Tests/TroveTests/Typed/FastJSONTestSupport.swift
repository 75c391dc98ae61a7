import Foundation
import Testing
@testable import Trove
import TroveTestSupport

/// What decoding one text gave with Foundation's `JSONDecoder` and with the fast decoder.
struct FastJSONComparison<Value> {
    /// Foundation's result.
    let foundation: Result<Value, any Error>
    /// The fast decoder's result.
    let fast: Result<Value, any Error>

    /// Whether the fast decoder produced a value.
    var fastSucceeded: Bool {
        if case .success = fast { return true }
        return false
    }
}

/// Decodes `data` as `type` with a default Foundation `JSONDecoder` and with the fast decoder, and
/// records an issue when the fast decoder succeeds where Foundation fails, or with a value that
/// differs from Foundation's: by `==` and by the bytes `JSONEncoder` makes of it (which tells
/// `-0.0` from `0.0` and every `Double` from its neighbours).
///
/// - Parameter mustBeFast: Also record an issue when the fast decoder does not succeed, for the
///   inputs it is meant to handle.
@discardableResult
func expectFastDecodingAgrees<Value: Decodable & Equatable>(
    _ type: Value.Type, _ data: Data, mustBeFast: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) -> FastJSONComparison<Value> {
    let comparison = FastJSONComparison<Value>(
        foundation: Result { try JSONDecoder().decode(Value.self, from: data) },
        fast: Result { try FastJSONDecoder.decode(Value.self, from: data) }
    )
    let text = String(decoding: data, as: UTF8.self)
    if case .success(let fastValue) = comparison.fast {
        switch comparison.foundation {
        case .failure(let error):
            Issue.record("fast decoder succeeded where Foundation fails (\(error)) on \(text) as \(Value.self)", sourceLocation: sourceLocation)
        case .success(let foundationValue):
            #expect(fastValue == foundationValue, "on \(text) as \(Value.self)", sourceLocation: sourceLocation)
            if let fastValue = fastValue as? any Encodable, let foundationValue = foundationValue as? any Encodable {
                #expect(canonicalJSON(fastValue) == canonicalJSON(foundationValue), "on \(text) as \(Value.self)", sourceLocation: sourceLocation)
            }
        }
    } else if mustBeFast {
        Issue.record("fast decoder rejected \(text) as \(Value.self): \(comparison.fast)", sourceLocation: sourceLocation)
    }
    return comparison
}

/// Like ``expectFastDecodingAgrees(_:_:mustBeFast:sourceLocation:)`` for a JSON text.
@discardableResult
func expectFastDecodingAgrees<Value: Decodable & Equatable>(
    _ type: Value.Type, _ text: String, mustBeFast: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) -> FastJSONComparison<Value> {
    expectFastDecodingAgrees(type, Data(text.utf8), mustBeFast: mustBeFast, sourceLocation: sourceLocation)
}

/// Encodes `value` with Foundation, then checks that the fast decoder reads it back, and reads it
/// exactly as Foundation does.
func expectFastRoundTrip<Value: Codable & Equatable>(
    _ value: Value, sourceLocation: SourceLocation = #_sourceLocation
) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let data = try? encoder.encode(value) else {
        Issue.record("cannot encode \(value)", sourceLocation: sourceLocation)
        return
    }
    let comparison = expectFastDecodingAgrees(Value.self, data, mustBeFast: true, sourceLocation: sourceLocation)
    if case .success(let decoded) = comparison.foundation {
        #expect(decoded == value, sourceLocation: sourceLocation)
    }
}

/// The fast decoder must refuse `text` as `type` (and leave it to Foundation).
func expectFastDecoderRejects<Value: Decodable>(
    _ type: Value.Type, _ text: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(throws: (any Error).self, "\(text) as \(Value.self)", sourceLocation: sourceLocation) {
        try FastJSONDecoder.decode(Value.self, from: Data(text.utf8))
    }
}

/// The JSON Foundation makes of `value`, keys sorted; `nil` when it cannot be encoded.
func canonicalJSON<Value: Encodable>(_ value: Value) -> Data? {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try? encoder.encode(value)
}
