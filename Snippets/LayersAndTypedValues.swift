// Layers composed in one expression, and a typed view of Codable values on top.

import Foundation
import Trove

struct User: Codable { var name: String; var visits: Int }

let users = try FileSystemStore(root: URL(filePath: "data"))
    .prefixed("app/")
    .cached(in: BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000), mode: .mutable)
    .typed(as: User.self)

try await users.set(User(name: "Alice", visits: 0), for: "alice")
try await users.update("alice") { user in
    guard var user else { return .keep }
    user.visits += 1
    return .set(user)
}
let alice = try await users["alice"]          // User?, decoded from JSON
