// The contract, run against a store of your own.

// snippet.hide
import Trove
// snippet.show
import TroveConformance
// snippet.hide

/// The store of your own that this checks: the memory store stands in for it.
typealias MyStore = MemoryStore
// snippet.show

for check in ContractCheck.allCases {
    let clock = ManualWallClock()
    let store = MyStore(clock: clock.wallClock)
    try await check.run(against: store, environment: ConformanceEnvironment(clock: clock))
}
