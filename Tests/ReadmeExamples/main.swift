// The README's production example, compiled and run in a fresh directory, word for word
// (ReadmeExampleTests checks that they match, and runs this program twice in a row). Its
// `import` lines are the ones at the top of this file. It is a program of its own rather than a
// snippet (Snippets/, where the README's other examples are) because it uses Prometheus, a
// package that none of Trove's libraries depends on and that a snippet therefore cannot link.
import Foundation
import Trove
import Prometheus
import TroveObservability

/// "In production": retries, timeouts, a concurrency limit, and metrics for Prometheus.
func inProduction() async throws {
    // Metrics go to swift-metrics. A program bootstraps once, before it makes its stores:
    // MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)); here the factory
    // is passed to the store instead.
    let registry = PrometheusCollectorRegistry()
    let metrics = PrometheusMetricsFactory(registry: registry)

    // Innermost first: measured calls, at most 16 at once, each cut off after 5 s, and the
    // retryable failures (a lost connection, a timeout) tried again up to 4 times in 10 s.
    let documents = try FileSystemStore(root: URL(filePath: "data"))
        .recordingMetrics(system: "file", name: "documents", factory: metrics)
        .limitingConcurrency(to: 16)
        .withTimeouts(call: .seconds(5))
        .retrying(RetryPolicy(attempts: 4, within: .seconds(10)))

    try await documents.set(Data("bonjour".utf8), for: "greetings/fr")
    _ = try await documents.read("greetings/fr")
    _ = try await documents.read("greetings/xx")

    // What a /metrics endpoint serves: the counts that are not zero.
    for line in registry.emitToString().split(separator: "\n")
    where line.hasPrefix("trove_operations_total") && !line.hasSuffix(" 0") {
        print(line)
    }
}

try await inProduction()
print("every example ran")
