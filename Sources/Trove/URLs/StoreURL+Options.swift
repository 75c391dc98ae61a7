extension StoreURL {
    /// A reader of the URL's query options: takes them one at a time as typed values, then
    /// rejects any option nobody asked for.
    ///
    /// Strings stop here: a scheme handler turns each option into a typed value once, and a
    /// misspelt option or a bad value becomes an error naming the option and the URL, never a
    /// silently ignored setting.
    ///
    ///     var options = url.optionReader
    ///     let durability = try options.choice(
    ///         "durability", from: ["buffered": FileSystemStore.Durability.buffered, "fsync": .fsync])
    ///     let createsRoot = try options.bool("create")
    ///     try options.rejectUnknown()
    public var optionReader: OptionReader { OptionReader(self) }

    /// Takes a URL's query options one at a time as typed values; see ``StoreURL/optionReader``.
    ///
    /// Every method returns `nil` when the option is absent, and throws ``StoreError`` with code
    /// ``StoreError/Code/invalidArgument`` naming the option and the URL when it is given twice
    /// or its value is not what the method expects.
    public struct OptionReader: Sendable {
        private let url: StoreURL
        private var remaining: [QueryItem]
        private var known: [String] = []

        init(_ url: StoreURL) {
            self.url = url
            self.remaining = url.queryItems
        }

        /// The names of the options asked for so far, in order: what this scheme accepts.
        public var knownOptions: [String] { known }

        /// Takes the option `name` as it is written, or `nil` if it is absent.
        ///
        /// - Throws: ``StoreError/Code/invalidArgument`` when the option is given twice or has
        ///   no value (`?name` without `=`).
        public mutating func string(_ name: String) throws(StoreError) -> String? {
            guard let item = try take(name) else { return nil }
            guard let value = item.value else {
                throw url.invalid("option '\(name)' needs a value ('\(name)=…')")
            }
            return value
        }

        /// Takes the option `name` and converts it with `parse`.
        ///
        /// - Parameters:
        ///   - name: The option's name.
        ///   - expected: What a valid value looks like, for the error message ("a number of
        ///     bytes").
        ///   - parse: Returns the typed value, or `nil` if the text is not a valid value.
        /// - Throws: ``StoreError/Code/invalidArgument`` when the option is given twice, has no
        ///   value, or `parse` returns `nil`.
        public mutating func value<Value>(
            _ name: String, expected: String, _ parse: (String) -> Value?
        ) throws(StoreError) -> Value? {
            guard let text = try string(name) else { return nil }
            guard let value = parse(text) else {
                throw url.invalid("invalid value '\(text)' for option '\(name)': expected \(expected)")
            }
            return value
        }

        /// Takes the option `name`, whose value must be one of the names in `choices`.
        ///
        ///     let level = try options.choice("level", from: ["low": 1, "high": 9])
        ///
        /// - Throws: ``StoreError/Code/invalidArgument`` listing the valid names when the value
        ///   is none of them.
        public mutating func choice<Value>(
            _ name: String, from choices: KeyValuePairs<String, Value>
        ) throws(StoreError) -> Value? {
            let names = choices.map(\.key)
            let expected = names.count == 1 ? names[0]
                : names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
            return try value(name, expected: expected) { text in choices.first { $0.key == text }?.value }
        }

        /// Takes the Boolean option `name`: `true`, `yes`, `1`, or the name alone (`?name`) for
        /// `true`; `false`, `no` or `0` for `false`, in any case.
        public mutating func bool(_ name: String) throws(StoreError) -> Bool? {
            guard let item = try take(name) else { return nil }
            guard let text = item.value else { return true }
            switch text.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default:
                throw url.invalid("invalid value '\(text)' for option '\(name)': expected true or false")
            }
        }

        /// Takes the integer option `name`, which must lie in `range`.
        public mutating func integer(_ name: String, in range: ClosedRange<Int>) throws(StoreError) -> Int? {
            try value(name, expected: "a whole number from \(range.lowerBound) to \(range.upperBound)") { text in
                Int(text).flatMap { range.contains($0) ? $0 : nil }
            }
        }

        /// Takes the duration option `name`, written as ``Swift/Duration/init(parsing:)`` reads
        /// it (`500ms`, `30s`, `5m`, `2h`, `1d`, `1h30m`).
        public mutating func duration(_ name: String) throws(StoreError) -> Duration? {
            guard let text = try string(name) else { return nil }
            do {
                return try Duration(parsing: text)
            } catch {
                throw url.invalid("invalid value '\(text)' for option '\(name)': expected a duration such as 500ms, 30s, 5m, 2h or 1d")
            }
        }

        /// Throws if an option is left that no method took.
        ///
        /// Call it after taking every option the scheme knows.
        ///
        /// - Throws: ``StoreError/Code/invalidArgument`` naming the first unknown option, the
        ///   URL, and the options the scheme accepts.
        public func rejectUnknown() throws(StoreError) {
            guard let unknown = remaining.first else { return }
            let accepted = known.isEmpty
                ? "\(url.scheme): takes no options"
                : "\(url.scheme): accepts " + known.joined(separator: ", ")
            throw url.invalid("unknown option '\(unknown.name)'; \(accepted)")
        }

        /// Removes and returns the one item named `name`.
        private mutating func take(_ name: String) throws(StoreError) -> QueryItem? {
            if !known.contains(name) { known.append(name) }
            let matches = remaining.filter { $0.name == name }
            guard let first = matches.first else { return nil }
            if matches.count > 1 {
                throw url.invalid("option '\(name)' is given \(matches.count) times")
            }
            remaining.removeAll { $0.name == name }
            return first
        }
    }
}

extension StoreURL {
    /// Throws unless the URL is its scheme alone (`memory:` or `memory://`), with no options.
    func requireBareScheme() throws(StoreError) {
        if (host.map { !$0.isEmpty } ?? false) || user != nil || password != nil || port != nil || !path.isEmpty {
            throw invalid("a \(scheme): URL takes no host or path; write \(scheme):")
        }
        try optionReader.rejectUnknown()
    }
}
