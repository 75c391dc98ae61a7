extension StoreScheme {
    /// `memory:`: a new, empty ``MemoryStore`` each time it is opened, gone with the process.
    /// It takes no path and no options.
    public static var memory: StoreScheme {
        StoreScheme(
            name: "memory", usage: "memory:", summary: "a new empty store in this process's memory, gone when it ends"
        ) { url, context in
            try url.requireBareScheme()
            return OpenedStore(MemoryStore(clock: context.clock))
        }
    }
}
