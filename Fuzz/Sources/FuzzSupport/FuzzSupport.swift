// What every fuzz target shares: how it reads its input and how it reports a broken property.

import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fuzzer's input as bytes.
public func bytes(_ start: UnsafeRawPointer, _ count: Int) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: start, count: count))
}

/// The parts of `input` between 0xFF bytes, at most `limit` of them (0xFF never occurs in UTF-8,
/// so it separates strings without ever being part of one).
public func parts(_ input: [UInt8], limit: Int) -> [[UInt8]] {
    input.split(separator: 0xFF, maxSplits: limit - 1, omittingEmptySubsequences: false).map(Array.init)
}

/// `bytes` as a string, invalid UTF-8 repaired (so every string is reachable).
public func string(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self)
}

/// Stops the run as a crash when `condition` is false: libFuzzer then saves the input.
///
/// The message starts with "property violated", which the reliability script looks for.
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    printError("property violated (\(file):\(line)): \(message())")
    abort()
}

/// Writes `text` and a line feed to the standard error.
public func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Whether `scalar` is a control character (Unicode category Cc): U+0000–U+001F, U+007F–U+009F.
public func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value <= 0x1F || (0x7F...0x9F).contains(scalar.value)
}

/// Whether `text` holds a control character.
public func hasControl(_ text: some StringProtocol) -> Bool {
    text.unicodeScalars.contains(where: isControl)
}

/// `bytes` in hexadecimal, for messages.
public func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }.joined()
}

/// A little-endian integer of `width` bytes at `offset`.
public func littleEndian(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
    var value: UInt64 = 0
    for index in (0..<width).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
    return value
}

/// A big-endian integer of `width` bytes at `offset`.
public func bigEndian(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
    var value: UInt64 = 0
    for index in 0..<width { value = value << 8 | UInt64(bytes[offset + index]) }
    return value
}

/// A place for one result, written by one task and read after it signalled.
private final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}

/// Runs `body` in a task and waits for it: fuzz callbacks are synchronous, and are called on
/// libFuzzer's thread, never on one of Swift's cooperative pool.
public func blocking<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
    let box = ResultBox<Value>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// A scratch directory for this process: `$TROVE_FUZZ_SCRATCH` if set (the reliability script
/// sets it and removes it afterwards), else a new one under the temporary directory.
public func scratchDirectory(_ name: String) -> String {
    let base = ProcessInfo.processInfo.environment["TROVE_FUZZ_SCRATCH"] ?? NSTemporaryDirectory()
    var template = Array(((base.hasSuffix("/") ? base : base + "/") + "\(name)-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else {
        printError("cannot make a scratch directory under \(base)")
        exit(2)
    }
    return String(cString: made)
}

/// Writes `contents` to the file at `path`, replacing what it held.
public func writeFile(_ path: String, _ contents: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    require(fd >= 0, "cannot open \(path): errno \(errno)")
    var written = 0
    while written < contents.count {
        let count = contents.withUnsafeBytes { write(fd, $0.baseAddress! + written, contents.count - written) }
        require(count > 0, "cannot write \(path): errno \(errno)")
        written += count
    }
    _ = close(fd)
}
