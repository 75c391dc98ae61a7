import CTroveSystem
import Foundation
import Synchronization
import Testing
@testable import Trove
import TroveTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A key's lock held by another store on the same root (as another process holds it): writes and deletes of that key wait for it on the
/// blocking pool, and the calling tasks' threads stay free for other work meanwhile.
@Suite("FileSystemStore waits for a held key lock off the calling task")
struct FileLockWaitTests {
    @Test(.timeLimit(.minutes(2)))
    func writesAndDeletesOfAHeldKeyWaitAndThenComplete() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root)
            // Three keys on three different stripes: three waits at once, more than the
            // cooperative pool has threads on a two-core machine, fewer than the blocking pool's.
            var found: [StoreKey] = []
            var stripes: Set<Int> = []
            var index = 0
            while found.count < 3 {
                let key = try StoreKey(validating: "held-\(index)")
                if stripes.insert(StripedLock.stripe(of: key)).inserted { found.append(key) }
                index += 1
            }
            let keys = found
            var free: StoreKey = "free-0"
            index = 0
            while stripes.contains(StripedLock.stripe(of: free)) {
                index += 1
                free = try StoreKey(validating: "free-\(index)")
            }
            var etags: [ETag] = []
            for key in keys { etags.append(try await store.set(Data("old".utf8), for: key).etag) }

            let holder = try LockHolder(root: root)
            for key in keys { try holder.take(key) }
            let before = store.lock.contentions

            let expected = etags[1]
            let writer0 = Task { try await store.set(Data("new".utf8), for: keys[0]) }
            let writer1 = Task { try await store.set(Data("new".utf8), for: keys[1], condition: .ifMatches(expected)) }
            let deleter = Task { try await store.delete(keys[2]) }
            // Wait (without a deadline of our own) until all three have met the held lock.
            while store.lock.contentions < before + 3 { try await Task.sleep(for: .milliseconds(5)) }

            // They wait on the blocking pool: this task still writes, reads and deletes other keys.
            try await store.set(Data("free".utf8), for: free)
            #expect(try await store[free] == Data("free".utf8))
            #expect(try await store.delete(free))
            // Nothing of theirs happened while the lock is held.
            for key in keys { #expect(try await store[key] == Data("old".utf8), "\(key) changed under a held lock") }

            for key in keys { try holder.release(key) }
            _ = try await writer0.value
            _ = try await writer1.value
            #expect(try await deleter.value, "the delete found the value it waited for")
            #expect(try await store[keys[0]] == Data("new".utf8))
            #expect(try await store[keys[1]] == Data("new".utf8))
            #expect(try await store[keys[2]] == nil)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aConditionalWriteThatWaitedStillChecksItsCondition() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root)
            let other = try FileSystemStore(root: root)
            let key: StoreKey = "contended"
            let first = try await store.set(Data("1".utf8), for: key)
            let holder = try LockHolder(root: root)
            try holder.take(key)
            let before = store.lock.contentions
            let swap = Task { try await store.set(Data("2".utf8), for: key, condition: .ifMatches(first.etag)) }
            while store.lock.contentions < before + 1 { try await Task.sleep(for: .milliseconds(5)) }
            try holder.release(key)
            _ = try await swap.value
            // The second store's compare-and-swap on the old ETag must now fail.
            try await expectStoreError(.conditionFailed) {
                try await other.set(Data("3".utf8), for: key, condition: .ifMatches(first.etag))
            }
            #expect(try await store[key] == Data("2".utf8))
        }
    }
}

/// A second store on the same root, holding keys' locks as another process would: each on a
/// thread of its own, which takes the lock, waits to be told, and releases it (a mutex must be
/// released by the thread that took it).
private final class LockHolder: Sendable {
    private let store: FileSystemStore
    private let held = Mutex<[Int: (release: DispatchSemaphore, done: DispatchSemaphore)]>([:])

    init(root: URL) throws {
        store = try FileSystemStore(root: root)
    }

    func take(_ key: StoreKey) throws {
        let taken = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        let store = self.store
        Thread.detachNewThread {
            do {
                try store.lock.withLock(for: key) {
                    taken.signal()
                    release.wait()
                }
            } catch {
                failure.withLock { $0 = error }
                taken.signal()
            }
            done.signal()
        }
        taken.wait()
        if let error = failure.withLock({ $0 }) { throw TestFailure("cannot take the lock of \(key): \(error)") }
        held.withLock { $0[StripedLock.stripe(of: key)] = (release, done) }
    }

    func release(_ key: StoreKey) throws {
        guard let entry = held.withLock({ $0.removeValue(forKey: StripedLock.stripe(of: key)) }) else {
            throw TestFailure("the lock of \(key) is not held")
        }
        entry.release.signal()
        entry.done.wait()
    }
}
