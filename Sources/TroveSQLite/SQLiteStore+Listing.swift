import Foundation
public import Trove

extension SQLiteStore {
    /// A byte greater than any byte of UTF-8 text.
    static let pastUTF8: UInt8 = 0xF8

    /// The smallest string of bytes greater than every string starting with `prefix`: the
    /// prefix followed by a byte that UTF-8 never uses (or that byte alone for no prefix).
    static func upperBound(of prefix: String) -> [UInt8] {
        Array(prefix.utf8) + [pastUTF8]
    }

    /// One page of keys in byte-wise order, by a range scan of the primary key that starts after
    /// the cursor (the last name of the previous page).
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let now = clock.now
        let limit = max(1, limit)
        return try await perform(.list, nil, writes: false, scans: true) { [self] connection in
            try connection.readTransaction {
                try page(connection, query, after: cursor, limit: limit, now: now)
            }
        }
    }

    private func page(
        _ connection: SQLiteConnection, _ query: ListQuery, after cursor: ListCursor?, limit: Int, now: Date
    ) throws -> ListPage {
        var lower = cursor.map { Self.lowerBound(after: $0.rawValue, query: query) } ?? []
        let upper = Self.upperBound(of: query.prefix)
        var elements: [ListElement] = []
        let statement = try connection.statement(sql.listPage)
        defer { statement.reset() }
        scan: while elements.count <= limit {
            statement.reset()
            try statement.bind(1, textBytes: lower)
            try statement.bind(2, text: query.prefix)
            try statement.bind(3, textBytes: upper)
            try statement.bind(4, Self.seconds(now))
            try statement.bind(5, Int64(limit + 1 - elements.count))
            var rows = 0
            while try statement.step() {
                rows += 1
                // A row that another program wrote under a name that is not a valid key (nor
                // valid UTF-8) is passed over, as `count(withPrefix:)` leaves it out.
                guard statement.isValidKey(0), let key = try? StoreKey(validating: statement.text(0)) else {
                    lower = statement.bytes(0)
                    continue
                }
                switch query.classify(key) {
                case .key:
                    let metadata = query.includesMetadata ? Self.metadata(statement, key: key, from: 2) : nil
                    elements.append(.entry(key, metadata))
                    lower = Array(key.rawValue.utf8)
                case .commonPrefix(let name):
                    elements.append(.commonPrefix(name))
                    lower = Array(name.utf8) + [Self.pastUTF8]
                    continue scan  // skip the rest of this prefix with a new range scan
                case nil:
                    lower = Array(key.rawValue.utf8)
                }
            }
            if rows == 0 { break }
        }
        guard elements.count > limit else { return ListPage(elements: elements, nextCursor: nil) }
        elements.removeLast(elements.count - limit)
        return ListPage(elements: elements, nextCursor: elements.last.map { ListCursor($0.name) })
    }

    /// The exclusive lower bound of the page after `name`: past every key under `name` when it
    /// is a common prefix.
    private static func lowerBound(after name: String, query: ListQuery) -> [UInt8] {
        let bytes = Array(name.utf8)
        if let delimiter = query.delimiterByte, bytes.count > query.prefix.utf8.count,
           bytes.dropFirst(query.prefix.utf8.count).contains(delimiter) {
            return bytes + [pastUTF8]
        }
        return bytes
    }
}
