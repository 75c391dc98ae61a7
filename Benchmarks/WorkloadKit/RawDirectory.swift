#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The raw engine under `FileSystemStore`: the same system calls in a bare loop, with no key
/// validation, no encoding, no metadata and no thread hop. Trove's overhead is measured
/// against it.
///
/// One file per key directly under the directory; a write goes to a file of the same name in
/// a scratch subdirectory (`.scratch`), which is then renamed into place, so a reader sees
/// the old value or the new one, never a torn one:
///
/// - put: `openat(O_CREAT | O_WRONLY | O_TRUNC)` in `.scratch`, `write`, `close`, `renameat`;
/// - get: `openat(O_RDONLY)`, `fstat`, `read` into a new buffer of that size, `close`;
/// - list: `opendir`, `readdir` until the end, `closedir` (names in directory order, unsorted);
/// - delete: `unlinkat`.
///
/// Key names are passed to the kernel as they are; the workloads' names need no encoding.
public final class RawDirectory: Sendable {
    /// The directory's path.
    public let path: String
    private let directoryDescriptor: Int32
    private let scratchDescriptor: Int32

    /// The scratch subdirectory's name; listing skips it.
    static let scratchName = ".scratch"

    /// Opens `path`, creating it and its scratch subdirectory if they are missing.
    public init(path: String) throws(WorkloadError) {
        try Self.makeDirectory(path)
        try Self.makeDirectory(path + "/" + Self.scratchName)
        let directory = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw Self.failure("open", path) }
        let scratch = openat(directory, Self.scratchName, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard scratch >= 0 else {
            let error = Self.failure("open", path + "/" + Self.scratchName)
            close(directory)
            throw error
        }
        self.path = path
        self.directoryDescriptor = directory
        self.scratchDescriptor = scratch
    }

    deinit {
        close(scratchDescriptor)
        close(directoryDescriptor)
    }

    /// Writes `value` under `name`: a scratch file renamed into place.
    public func put(_ name: String, _ value: UnsafeRawBufferPointer) throws(WorkloadError) {
        let file = name.withCString { openat(scratchDescriptor, $0, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644) }
        guard file >= 0 else { throw Self.failure("open", name) }
        var offset = 0
        while offset < value.count {
            let written = write(file, value.baseAddress! + offset, value.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let error = Self.failure("write", name)
                close(file)
                throw error
            }
            offset += written
        }
        guard close(file) == 0 else { throw Self.failure("close", name) }
        let renamed = name.withCString { renameat(scratchDescriptor, $0, directoryDescriptor, $0) }
        guard renamed == 0 else { throw Self.failure("rename", name) }
    }

    /// Reads the whole file `name` into a new buffer, or returns `nil` if there is none.
    public func get(_ name: String) throws(WorkloadError) -> [UInt8]? {
        let file = name.withCString { openat(directoryDescriptor, $0, O_RDONLY | O_CLOEXEC) }
        guard file >= 0 else {
            if errno == ENOENT { return nil }
            throw Self.failure("open", name)
        }
        defer { close(file) }
        var status = stat()
        guard fstat(file, &status) == 0 else { throw Self.failure("fstat", name) }
        let size = Int(status.st_size)
        var failure: WorkloadError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let got = read(file, buffer.baseAddress! + count, size - count)
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = Self.failure("read", name)
                    return
                }
                if got == 0 { return }
                count += got
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// The names of the files in the directory, in the order `readdir` gives them.
    public func list() throws(WorkloadError) -> [String] {
        guard let stream = opendir(path) else { throw Self.failure("opendir", path) }
        defer { closedir(stream) }
        var names: [String] = []
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(stream) {
            let name = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
            if name.pointee == 0x2E { continue } // ".", "..", ".scratch"
            names.append(String(cString: name))
        }
        return names
    }

    /// Deletes the file `name`; returns whether there was one.
    @discardableResult
    public func delete(_ name: String) throws(WorkloadError) -> Bool {
        guard name.withCString({ unlinkat(directoryDescriptor, $0, 0) }) == 0 else {
            if errno == ENOENT { return false }
            throw Self.failure("unlink", name)
        }
        return true
    }

    private static func makeDirectory(_ path: String) throws(WorkloadError) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw failure("mkdir", path) }
    }

    private static func failure(_ call: String, _ subject: String) -> WorkloadError {
        let code = errno
        return WorkloadError("\(call) \(subject): \(String(cString: strerror(code))) (errno \(code))")
    }
}
