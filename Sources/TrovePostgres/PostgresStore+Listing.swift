import Foundation
import PostgresNIO
public import Trove

extension PostgresStore {
    /// One page of names in byte-wise order, by a keyset scan of the primary key's range after
    /// the cursor (the last name of the previous page). With a delimiter, the server walks the
    /// range and jumps past each common prefix, so a page costs one statement however many keys
    /// lie under its prefixes.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let limit = max(1, min(limit, 100_000))
        let upper = Self.upperBound(of: query.prefix)
        let statement: PostgresQuery
        if let delimiter = query.delimiter {
            let lower = cursor.map { Self.lowerBound(after: $0.rawValue, query: query) } ?? query.prefix
            statement = try Self.query(sql.delimitedPage(bounded: upper != nil, metadata: query.includesMetadata)) { bindings in
                try bindings.append(query.prefix)
                try bindings.append(upper ?? "")
                try bindings.append(lower)
                bindings.append(Int32(limit + 1))
                try bindings.append(String(delimiter))
                try bindings.append(String(UnicodeScalar(delimiter.asciiValue! + 1)))
            }
        } else {
            statement = try Self.query(sql.page(bounded: upper != nil, metadata: query.includesMetadata)) { bindings in
                try bindings.append(query.prefix)
                try bindings.append(upper ?? "")
                try bindings.append(cursor?.rawValue ?? "")
                bindings.append(Int64(limit + 1))
            }
        }
        let rows = try await rows(.list, nil, statement)
        var elements: [ListElement] = []
        var last: String?
        for row in rows.prefix(limit) {
            let cells = row.makeRandomAccess()
            let name = try decoding(.list, nil) { try cells[0].decode(String.self) }
            last = name
            if query.delimiter != nil, let common = try decoding(.list, nil, { try cells[1].decode(String?.self) }) {
                elements.append(.commonPrefix(common))
                last = common
                continue
            }
            // A row another program wrote under a name that is not a key is passed over, as
            // counting cannot leave it out.
            guard let key = try? StoreKey(validating: name) else { continue }
            let offset = query.delimiter == nil ? 1 : 2
            let metadata = query.includesMetadata ? try decoding(.list, key) { try Self.metadata(cells, from: offset, key: key) } : nil
            elements.append(.entry(key, metadata))
        }
        guard rows.count > limit, let last else { return ListPage(elements: elements, nextCursor: nil) }
        return ListPage(elements: elements, nextCursor: ListCursor(last))
    }

    /// The inclusive lower bound of the delimiter page after `name`: past every key under
    /// `name` when it is a common prefix (the prefix with its delimiter replaced by the next
    /// character), otherwise just past the key.
    static func lowerBound(after name: String, query: ListQuery) -> String {
        if let delimiter = query.delimiterByte, name.utf8.count > query.prefix.utf8.count, name.utf8.last == delimiter,
           name.utf8.dropFirst(query.prefix.utf8.count).contains(delimiter) {
            return String(name.dropLast()) + String(UnicodeScalar(delimiter + 1))
        }
        return name + "\u{1}"
    }
}
