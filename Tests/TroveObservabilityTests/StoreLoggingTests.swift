import Foundation
import Logging
import Synchronization
import Testing
import Trove
import TroveObservability
import TroveTestSupport

@Suite("StoreLogging")
struct StoreLoggingTests {
    func logger(_ handler: CapturingLogHandler, level: Logger.Level) -> Logger {
        var logger = Logger(label: "test.sessions") { _ in handler }
        logger.logLevel = level
        return logger
    }

    @Test("calls at trace, failures at debug, without keys or values")
    func levelsAndPrivacy() async throws {
        let handler = CapturingLogHandler()
        let faulty = FaultInjectingStore(base: MemoryStore())
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost()), on: .read)
        let store = faulty.logging(to: logger(handler, level: .trace))
        try await store.set(Data("top secret".utf8), for: "user/42")
        await #expect(throws: StoreError.self) { _ = try await store.read("user/42") }

        let records = handler.records
        #expect(records.map(\.level) == [.trace, .debug])
        #expect(records[0].metadata["trove.operation"] == "write")
        #expect(records[0].metadata["trove.store"] == "test.sessions")
        #expect(records[1].message == "store call failed")
        #expect(records[1].metadata["trove.error"] == "unavailable")
        let everything = records.map { "\($0.message) \($0.metadata)" }.joined()
        #expect(!everything.contains("user/42") && !everything.contains("top secret"))
    }

    @Test("slow calls are logged at notice above the threshold, whatever the logger's level below it")
    func slowCalls() async throws {
        let handler = CapturingLogHandler()
        let faulty = FaultInjectingStore(base: MemoryStore())
        faulty.inject(.delay(.milliseconds(80)), on: .read)
        let store = faulty.logging(to: logger(handler, level: .info), slowerThan: .milliseconds(20), includingKeys: true)
        _ = try await store.read("k")
        _ = try await store.read("k")  // fast: nothing at info
        let records = handler.records
        #expect(records.count == 1)
        #expect(records.first?.level == .notice && records.first?.message == "slow store call")
        #expect(records.first?.metadata["trove.key"] == "k")
        #expect(Int(records.first?.metadata["trove.duration_ms"] ?? "") ?? 0 >= 80)
    }

    @Test("retries are logged through the retry layer's observer")
    func retries() async throws {
        let handler = CapturingLogHandler()
        let faulty = FaultInjectingStore(base: MemoryStore())
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost()), on: .read, count: 2)
        let store = faulty.retrying(RetryPolicy(attempts: 3, within: .seconds(600), backoff: .exponential(initial: .milliseconds(1), maximum: .milliseconds(2))),
                                    logger: logger(handler, level: .info))
        _ = try await store.read("k")
        let records = handler.records
        #expect(records.count == 2)
        #expect(records.allSatisfy { $0.level == .info && $0.message == "retrying store call" })
        #expect(records.map { $0.metadata["trove.attempt"] } == ["1", "2"])
        #expect(records.first?.metadata["trove.error"] == "unavailable")
    }
}
