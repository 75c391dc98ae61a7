/// The version of this package.
public enum TroveVersion {
    /// The version as `major.minor.patch`, as `trove --version` prints it.
    public static let current = "0.1.0"
}
