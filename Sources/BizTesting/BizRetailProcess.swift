import Foundation
import Synchronization

/// The real `biz-retail` executable, run as a child process, for end-to-end tests.
public final class BizRetailProcess: @unchecked Sendable {
    // Invariant: `process` is only touched from the test that owns this object.
    public let process: Process
    /// When the process exited, recorded by Foundation's termination handler on its own thread, so the time is
    /// right even when the test's tasks are slow to notice.
    private let exitedAt = ExitTime()
    public let dataDirectory: String
    public let logFile: String

    /// The built executable: `BIZ_RETAIL_BIN`, else `.build/debug/biz-retail` of this package.
    public static var executable: String {
        if let path = ProcessInfo.processInfo.environment["BIZ_RETAIL_BIN"] { return path }
        return packageRoot + "/.build/debug/biz-retail"
    }

    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    /// Starts `biz-retail serve [service]` on free ports and waits until it listens (gRPC, and HTTPS for the
    /// embedded mode and the gateway).
    public init(
        dataDirectory: String, environment: [String: String] = [:], service: String? = nil, grpcPort: Int = 0
    ) async throws {
        self.dataDirectory = dataDirectory
        // With BIZ_TEST_LOG_DIR (scripts/test sets it) every process's log is kept there, for the scan of every log
        // line the suites wrote (scripts/scan-logs).
        let logDirectory = ProcessInfo.processInfo.environment["BIZ_TEST_LOG_DIR"] ?? dataDirectory
        self.logFile = logDirectory + "/serve-\(UUID().uuidString.prefix(8)).log"
        try? FileManager.default.removeItem(atPath: dataDirectory + "/endpoints.json")
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments =
            ["serve"] + (service.map { [$0] } ?? []) + [
                "--data-dir", dataDirectory, "--grpc-port", "\(grpcPort)", "--https-port", "0",
            ]
        // No metrics listener unless a test asks for one: parallel processes would all want port 9464.
        process.environment = ProcessInfo.processInfo.environment.merging(["BIZ_METRICS_PORT": "0"]) { _, new in new }
            .merging(environment) { _, new in new }
        let logHandle = FileHandle(forWritingAtPath: logFile)
        process.standardOutput = logHandle
        process.standardError = logHandle
        self.process = process
        process.terminationHandler = { [exitedAt] _ in exitedAt.record() }
        try launch(process)
        let deadline = ContinuousClock.now + .seconds(30)
        let needsHTTPS = service == nil || service == "gateway"
        let needsGRPC = service != "gateway"
        while (needsHTTPS && endpoint("https") == nil) || (needsGRPC && endpoint("grpc") == nil) {
            guard process.isRunning else { throw ProcessFailure("biz-retail exited early:\n\(self.log())") }
            guard ContinuousClock.now < deadline else {
                throw ProcessFailure("biz-retail did not start:\n\(self.log())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        recordSecrets(environment: process.environment ?? [:])
    }

    /// Appends the secrets this process knows (its generated credentials, the secrets it was given) to
    /// `$BIZ_TEST_LOG_DIR/secrets.txt`: scripts/scan-logs fails if any log line holds one.
    private func recordSecrets(environment: [String: String]) {
        guard let directory = ProcessInfo.processInfo.environment["BIZ_TEST_LOG_DIR"] else { return }
        var secrets = [
            bootstrapCredential("admin_password"), bootstrapCredential("client_secret"),
            operatorCredential("client_secret"),
        ].compactMap { $0 }
        for (name, value) in environment
        where ["SECRET", "PASSWORD", "MASTER_KEY"].contains(where: name.contains) && value.utf8.count >= 8 {
            secrets.append(value)
        }
        let path = directory + "/secrets.txt"
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data(secrets.map { $0 + "\n" }.joined().utf8))
    }

    /// An address the running system recorded in `endpoints.json` (`grpc` is host:port, `https` a URL).
    public func endpoint(_ key: String) -> String? {
        guard let data = FileManager.default.contents(atPath: dataDirectory + "/endpoints.json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object[key] as? String
    }

    /// The generated bootstrap credentials (`admin_email`, `admin_password`, `client_id`, `client_secret`).
    public func bootstrapCredential(_ key: String) -> String? {
        Self.credential(key, in: dataDirectory)
    }

    /// The operator client's generated credentials (`client_id`, `client_secret`).
    public func operatorCredential(_ key: String) -> String? {
        Self.credential(key, in: dataDirectory, file: "operator-credentials.json")
    }

    /// A credential from `<directory>/bootstrap-credentials.json` (or another file of generated credentials).
    public static func credential(_ key: String, in directory: String, file: String = "bootstrap-credentials.json")
        -> String?
    {
        guard let data = FileManager.default.contents(atPath: directory + "/" + file),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object[key] as? String
    }

    public func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// Sends `signal` and waits for the process to exit; returns its status and how long it took to exit.
    ///
    /// The exit is read from `/proc/<pid>/stat` (a zombie, state `Z`, with its wait status), not from Foundation:
    /// Foundation learns of an exit when the child's end of a socket pair closes, and a process another thread
    /// launched meanwhile can inherit that end and keep it open, so `isRunning` may stay true long after the exit.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(15)) async throws -> (Int32, Duration) {
        let start = ContinuousClock.now
        let pid = process.processIdentifier
        kill(pid, signal)
        while true {
            if !process.isRunning {
                // The handler runs right after the exit is reaped; wait for it briefly rather than read it too early.
                var exit = exitedAt.instant
                for _ in 0..<100 where exit == nil {
                    try await Task.sleep(for: .milliseconds(10))
                    exit = exitedAt.instant
                }
                return (process.terminationStatus, (exit ?? ContinuousClock.now) - start)
            }
            if let status = Self.zombieStatus(pid) { return (status, ContinuousClock.now - start) }
            guard ContinuousClock.now - start < timeout else {
                kill(pid, SIGKILL)
                let tail = log().split(separator: "\n").suffix(30).joined(separator: "\n")
                throw ProcessFailure("biz-retail did not stop within \(timeout); the end of its log:\n\(tail)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The exit status of `pid` if it exited and is not reaped yet (Foundation's `terminationStatus` convention: the
    /// exit code, or the signal that ended it).
    static func zombieStatus(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let fields = stat.split(separator: ")").last?.split(separator: " "), fields.first == "Z",
            let wait = fields.last.flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        else { return nil }
        // Field 52, `exit_code`, is the status as waitpid(2) reports it.
        return wait & 0x7f == 0 ? (wait >> 8) & 0xff : wait & 0x7f
    }

    /// Waits until `condition` holds, or fails after `timeout`.
    public static func eventually(
        timeout: Duration = .seconds(20), _ what: String, _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw ProcessFailure("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Runs a `biz-retail` command (for example `audit history …`) against this system.
    public func command(_ arguments: [String], stdin: String? = nil) async throws -> CommandResult {
        try await Self.run(arguments + ["--data-dir", dataDirectory], stdin: stdin)
    }

    public static func run(_ arguments: [String], stdin: String? = nil) async throws -> CommandResult {
        try await runProgram(executable, arguments, stdin: stdin)
    }
}

/// The instant a process exited, set once from Foundation's termination handler.
final class ExitTime: Sendable {
    private let value = Mutex<ContinuousClock.Instant?>(nil)
    func record() { value.withLock { $0 = ContinuousClock.now } }
    var instant: ContinuousClock.Instant? { value.withLock { $0 } }
}

/// Starts `process` (after `prepare` set it up), one launch at a time in this test process. Foundation learns that a
/// child exited when the child's end of a socket pair closes; that end is open in this process until `run()` returns,
/// so a sibling launched from another thread meanwhile inherited it and kept it open for its own lifetime: the first
/// child's exit went unnoticed (a zombie, "did not stop within 15 s") until the sibling exited too.
@discardableResult
func launch<T>(_ process: Process, preparing prepare: (Process) -> T = { _ in () }) throws -> T {
    launchLock.lock()
    defer { launchLock.unlock() }
    let prepared = prepare(process)
    try process.run()
    return prepared
}

private let launchLock = NSLock()

/// Runs a program to completion, capturing its output. The blocking reads and the wait for the child's exit happen on
/// a thread of their own, never on Swift's cooperative pool (two threads on a 2-core machine: a test waiting there for
/// curl or `scripts/cluster` would stall every other task of the test process, including the one measuring time).
public func runProgram(_ executable: String, _ arguments: [String], stdin: String? = nil) async throws
    -> CommandResult
{
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try runProgramBlocking(executable, arguments, stdin: stdin) })
        }.start()
    }
}

/// The same, blocking the calling thread; only for a thread of our own or a one-off lookup before tests start.
func runProgramBlocking(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    // The pipes are made under the launch lock too: a sibling launched between their creation and this launch
    // would inherit their write ends and hold our reads open until it exits.
    let (output, error, input) = try launch(process) { process in
        let pipes = (Pipe(), Pipe(), Pipe())
        process.standardOutput = pipes.0
        process.standardError = pipes.1
        process.standardInput = pipes.2
        return pipes
    }
    // stderr is drained on a thread of its own while stdout is read here, so neither pipe can fill and block the
    // child.
    let errors = PipeDrain(error.fileHandleForReading)
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let out = readToEnd(output.fileHandleForReading)
    let err = errors.wait()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
        error: String(decoding: err, as: UTF8.self)
    )
}

/// Reads a pipe to its end, retrying reads a signal interrupted (a child's SIGCHLD arrives while tests run many
/// processes; Foundation's `readDataToEndOfFile` traps on EINTR).
func readToEnd(_ handle: FileHandle) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
        if count > 0 {
            data.append(contentsOf: buffer[0..<count])
        } else if count < 0 && errno == EINTR {
            continue
        } else {
            return data
        }
    }
}

/// Reads a pipe to its end on a thread of its own.
final class PipeDrain: @unchecked Sendable {
    // `data` is written by the thread before it signals `done`, and read only after `wait()` saw the signal.
    private var data = Data()
    private let done = NSCondition()
    private var finished = false

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            let result = readToEnd(handle)
            done.lock()
            data = result
            finished = true
            done.signal()
            done.unlock()
        }
        thread.start()
    }

    func wait() -> Data {
        done.lock()
        while !finished { done.wait() }
        done.unlock()
        return data
    }
}

public struct CommandResult: Sendable {
    public var status: Int32
    public var output: String
    public var error: String
}

public struct ProcessFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
