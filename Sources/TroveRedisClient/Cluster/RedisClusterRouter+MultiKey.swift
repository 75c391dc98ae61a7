import NIOCore

extension RedisClusterRouter {
    /// How a command over many keys is split when its keys live in different slots, and how
    /// the pieces' replies are put back together.
    enum MultiKeyKind {
        /// `MGET`: the values, back in the order of the keys.
        case values
        /// `DEL`, `UNLINK`, `EXISTS`, `TOUCH`: the sum of the pieces' counts.
        case count
        /// `MSET`: `OK` when every piece is.
        case pairs
    }

    /// One command as sent: itself, or its pieces (one per slot, in the order of each slot's
    /// first key) and where each piece's keys were in the command.
    enum Plan {
        case whole(Int)
        case split(MultiKeyKind, first: Int, positions: [[Int]], keys: Int)
    }

    /// The commands to send for `commands`, multi-key commands over several slots split per
    /// slot, and how to read the replies back.
    static func expand(_ commands: [RedisCommand]) -> (commands: [RedisCommand], plans: [Plan])? {
        var expanded: [RedisCommand] = []
        var plans: [Plan] = []
        var anySplit = false
        for command in commands {
            guard let (kind, pieces, positions, keys) = split(command) else {
                plans.append(.whole(expanded.count))
                expanded.append(command)
                continue
            }
            anySplit = true
            plans.append(.split(kind, first: expanded.count, positions: positions, keys: keys))
            expanded += pieces
        }
        return anySplit ? (expanded, plans) : nil
    }

    /// `command`'s pieces, when it is a multi-key command whose keys are in more than one slot.
    static func split(_ command: RedisCommand) -> (MultiKeyKind, [RedisCommand], [[Int]], Int)? {
        let kind: MultiKeyKind
        guard command.name.utf8.count <= 6 else { return nil }
        switch command.name.uppercased() {
        case "MGET": kind = .values
        case "DEL", "UNLINK", "EXISTS", "TOUCH": kind = .count
        case "MSET": kind = .pairs
        default: return nil
        }
        guard command.slot == nil else { return nil }
        let arguments = command.argumentSlices().dropFirst()
        let stride = kind == .pairs ? 2 : 1
        guard arguments.count >= 2 * stride, arguments.count % stride == 0 else { return nil }
        let items = Array(arguments)
        var order: [RedisHashSlot] = []
        var bySlot: [RedisHashSlot: [Int]] = [:]
        for item in 0..<(items.count / stride) {
            let slot = RedisHashSlot(key: items[item * stride].readableBytesView)
            if bySlot[slot] == nil { order.append(slot) }
            bySlot[slot, default: []].append(item)
        }
        guard order.count > 1 else { return nil }
        let positions = order.map { bySlot[$0]! }
        let pieces = positions.map { group in
            RedisCommand(command.name, arguments: group.flatMap { item in items[(item * stride)..<(item * stride + stride)] })
        }
        return (kind, pieces, positions, items.count / stride)
    }

    /// The replies to the original commands, from the replies to the expanded ones.
    static func reassemble(_ replies: [RESPValue], _ plans: [Plan]) -> [RESPValue] {
        plans.map { plan in
            switch plan {
            case .whole(let index):
                return replies[index]
            case .split(let kind, let first, let positions, let keys):
                let pieces = replies[first..<(first + positions.count)]
                if let error = pieces.first(where: { if case .error = $0 { return true }; return false }) { return error }
                switch kind {
                case .values:
                    var values = [RESPValue](repeating: .null, count: keys)
                    for (piece, group) in zip(pieces, positions) {
                        for (value, position) in zip(piece.array ?? [], group) { values[position] = value }
                    }
                    return .array(values)
                case .count:
                    return .integer(pieces.reduce(0) { $0 + ($1.int64 ?? 0) })
                case .pairs:
                    return pieces.first ?? .null
                }
            }
        }
    }
}
