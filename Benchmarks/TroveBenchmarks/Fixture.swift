import WorkloadKit

/// What one benchmark owns between its setup and its teardown.
final class Fixture<Engine> {
    private var scratch: ScratchDirectory?
    private var engine: Engine?

    /// Makes the benchmark's scratch directory inside `base` and keeps what `populate` returns.
    /// On failure, removes the directory again: teardown does not run after a failed setup.
    func setUp(
        in base: String, label: String, populate: (ScratchDirectory) async throws -> Engine? = { _ in nil }
    ) async throws {
        let scratch = try ScratchDirectory.make(in: base, label: label)
        self.scratch = scratch
        do {
            engine = try await populate(scratch)
        } catch {
            try? tearDown() // best effort: the setup's error is the one to report
            throw error
        }
    }

    /// The scratch directory made by the setup hook.
    func directory() throws -> ScratchDirectory {
        guard let scratch else { throw WorkloadError("the benchmark's setup did not run") }
        return scratch
    }

    /// The engine populated by the setup hook.
    func populated() throws -> Engine {
        guard let engine else { throw WorkloadError("the benchmark's setup did not populate a store") }
        return engine
    }

    /// Drops the engine and removes the directory.
    func tearDown() throws {
        engine = nil
        defer { scratch = nil }
        try scratch?.remove()
    }
}
