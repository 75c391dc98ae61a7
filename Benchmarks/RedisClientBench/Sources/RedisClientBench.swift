import Foundation
import NIOCore
import TroveRedisClient

/// GET or SET on 100-byte values over 10,000 random keys, as `redis-benchmark -t get,set -d 100
/// -r 10000 -c CLIENTS -P PIPELINE -n REQUESTS` does it: CLIENTS tasks, each sending PIPELINE
/// commands per round trip (one `send` when PIPELINE is 1, else one `pipeline` of a
/// ``RedisPipeline``, whose commands share one buffer), until
/// REQUESTS commands in all have been answered. Prints one line of JSON: requests per second
/// and the client's CPU time (user + system) per command in microseconds.
///
///     RedisClientBench <host> <port> <get|set> <clients> <pipeline> <requests> [connections] [loop]
///
/// `connections` defaults to `clients` (as many as redis-benchmark opens); the client
/// multiplexes every task onto them. With `loop`, each task runs on the event loop of a
/// connection (`withTaskExecutorPreference(client.nextTaskExecutor())`), so no command hops
/// between threads.
@main
enum RedisClientBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 7, let port = Int(arguments[2]), ["get", "set"].contains(arguments[3]),
              let clients = Int(arguments[4]), let depth = Int(arguments[5]), let requests = Int(arguments[6]),
              clients > 0, depth > 0, requests > 0 else {
            FileHandle.standardError.write(Data("usage: RedisClientBench <host> <port> <get|set> <clients> <pipeline> <requests> [connections] [loop]\n".utf8))
            exit(2)
        }
        let isSet = arguments[3] == "set"
        var configuration = RedisClient.Configuration(host: arguments[1], port: port)
        configuration.connectionCount = arguments.count > 7 ? Int(arguments[7]) ?? clients : clients
        let onEventLoops = arguments.count > 8 && arguments[8] == "loop"
        configuration.clientName = nil
        let client = RedisClient(configuration: configuration)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
        // Connect every connection, and make the keys of a GET run exist.
        _ = try await client.pipeline((0..<10_000).map { RedisCommand("SET", BenchKey(number: $0), value) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<configuration.connectionCount * 2 { group.addTask { _ = try await client.send(RedisCommand("PING")) } }
            try await group.waitForAll()
        }

        let rounds = max(1, requests / (clients * depth))
        let cpuBefore = cpuTime()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<clients {
                let executor: (any TaskExecutor)? = onEventLoops ? client.nextTaskExecutor() : nil
                group.addTask(executorPreference: executor) {
                    var random = KeyChooser(seed: UInt64(task + 1))
                    for _ in 0..<rounds {
                        if depth == 1 {
                            _ = try await client.send(isSet ? RedisCommand("SET", BenchKey(number: random.next()), value) : RedisCommand("GET", BenchKey(number: random.next())))
                        } else {
                            var batch = RedisPipeline(capacity: depth * (isSet ? 160 : 48))
                            for _ in 0..<depth {
                                if isSet {
                                    batch.append("SET", BenchKey(number: random.next()), value)
                                } else {
                                    batch.append("GET", BenchKey(number: random.next()))
                                }
                            }
                            _ = try await client.pipeline(batch)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let cpu = cpuTime() - cpuBefore
        let done = rounds * clients * depth
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let perSecond = Double(done) / seconds
        print("{\"test\": \"\(arguments[3])\", \"clients\": \(clients), \"pipeline\": \(depth), \"connections\": \(configuration.connectionCount), \"event_loops\": \(onEventLoops), "
              + "\"requests\": \(done), \"rps\": \(Int(perSecond.rounded())), \"cpu_us_per_command\": \(String(format: "%.2f", cpu / Double(done) * 1e6))}")
        await client.shutdown()
    }

    /// Random key numbers below 10,000 (a linear congruential generator, as cheap as
    /// redis-benchmark's `random()`).
    struct KeyChooser {
        var state: UInt64

        init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 }

        mutating func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % 10_000)
        }
    }

    /// `key:000000001234`, as redis-benchmark's `key:__rand_int__` with `-r 10000`: written
    /// straight into the command's buffer (as redis-benchmark writes the digits into its
    /// command template), with no string made for it.
    struct BenchKey: RESPArgument {
        let number: Int

        var respByteCount: Int { 16 }

        func writeRESPPayload(into buffer: inout ByteBuffer) {
            var digits: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &digits) { raw in
                raw.copyBytes(from: "key:".utf8)
                var rest = number
                for index in stride(from: 15, through: 4, by: -1) {
                    raw[index] = UInt8(truncatingIfNeeded: rest % 10) &+ 0x30
                    rest /= 10
                }
                buffer.writeBytes(UnsafeRawBufferPointer(raw))
            }
        }
    }

    /// The process's user and system CPU time so far, in seconds.
    static func cpuTime() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
