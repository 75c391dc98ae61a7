import Foundation
import Trove

extension ContractCheck {
    /// A `ListCursor` is a position in key order, not a snapshot: the same cursor gives the
    /// same page again; a key written after it was handed out shows up on a later page if and
    /// only if it sorts after the cursor; a key deleted meanwhile does not; and a second
    /// instance of the store (``ConformanceEnvironment/reopen``) continues from it.
    public static let cursorsStayValid = ContractCheck(
        "cursorsStayValid",
        "a listing cursor is a position: reusable, it sees later writes after it and none before it"
    ) { try await CursorChecks.cursorsStayValid($0) }
}

/// The bodies of the cursor checks.
enum CursorChecks {
    static func cursorsStayValid(_ c: CheckContext) async throws {
        let names = ["c/b", "c/d", "c/f", "c/h", "c/j", "c/l"]
        try await c.writeAll(try names.map { try c.key($0) }) { CheckContext.bytes($0.rawValue) }
        let query = try ListQuery(prefix: "c/")
        let first = try await c.store.listPage(query, after: nil, limit: 2)
        try c.expectEqual(first.elements.map(\.name), ["c/b", "c/d"], "the first page of a listing")
        guard let cursor = first.nextCursor else {
            throw c.failure("a first page of 2 out of 6 keys must have a next cursor", expected: "a cursor", got: "nil")
        }
        let again = try await c.store.listPage(query, after: cursor, limit: 2)
        let twice = try await c.store.listPage(query, after: cursor, limit: 2)
        try c.expectEqual(again.elements.map(\.name), ["c/f", "c/h"], "the page after the first cursor")
        try c.expectEqual(twice.elements.map(\.name), again.elements.map(\.name), "the same cursor must give the same page again")

        // Changes after the cursor was handed out.
        try await c.store.set(CheckContext.bytes("before"), for: "c/a")
        try await c.store.set(CheckContext.bytes("after"), for: "c/e")
        try await c.store.discard("c/f")
        var rest: [String] = []
        var next: ListCursor? = cursor
        while let position = next {
            let page = try await c.store.listPage(query, after: position, limit: 2)
            rest += page.elements.map(\.name)
            next = page.nextCursor
            try c.expect(rest.count <= 10, "paging from a cursor does not end", got: "\(rest)")
        }
        try c.expectEqual(rest, ["c/e", "c/h", "c/j", "c/l"],
                          "after a cursor: a key written later that sorts after it appears, one before it and a deleted one do not")

        // The cursor survives into another instance of the store.
        if let reopen = c.environment.reopen {
            let other = try await reopen()
            let page = try await other.listPage(query, after: cursor, limit: 10)
            try c.expectEqual(page.elements.map(\.name), ["c/e", "c/h", "c/j", "c/l"],
                              "a cursor handed out by one instance must work on another over the same data")
        }
    }
}
