extension StoreScheme {
    /// `null:`: a ``NullStore``, which accepts every write and keeps nothing. It takes no
    /// path and no options.
    public static var null: StoreScheme {
        StoreScheme(name: "null", usage: "null:", summary: "keeps nothing, for dry runs") { url, context in
            try url.requireBareScheme()
            return OpenedStore(NullStore(clock: context.clock))
        }
    }
}
