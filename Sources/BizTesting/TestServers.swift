import BizServiceKit
import Foundation

/// A PostgreSQL or Kafka server of a test's own, started with the project's scripts on a free port in a
/// directory of its own, so a test can stop and restart it without disturbing the others.
public final class TestServer: Sendable {
    public enum Kind: String, Sendable {
        case postgres
        case kafka
    }

    public let kind: Kind
    public let port: Int
    public let directory: String
    /// The URL (PostgreSQL) or bootstrap servers (Kafka).
    public let address: String

    private init(kind: Kind, port: Int, directory: String, address: String) {
        self.kind = kind
        self.port = port
        self.directory = directory
        self.address = address
    }

    /// Starts a server; `directory` must not exist yet or belong to a server of the same kind.
    public static func start(_ kind: Kind, directory: String) async throws -> TestServer {
        let port = try freePort()
        let server = TestServer(kind: kind, port: port, directory: directory, address: "")
        let address = try await server.run("start").trimmingCharacters(in: .whitespacesAndNewlines)
        return TestServer(kind: kind, port: port, directory: directory, address: address)
    }

    public func stop() async throws { _ = try await run("stop") }
    public func restart() async throws { _ = try await run("restart") }

    /// Stops the server and removes its data; blocking, for a test's `defer`.
    public func remove() {
        _ = try? runProgramBlocking("/usr/bin/env", arguments("stop"))
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func run(_ command: String) async throws -> String {
        let result = try await runProgram("/usr/bin/env", arguments(command))
        guard result.status == 0 else {
            throw ProcessFailure("scripts/\(kind.rawValue) \(command) failed: \(result.error)")
        }
        return result.output
    }

    private func arguments(_ command: String) -> [String] {
        let prefix = kind == .postgres ? "BIZ_PG" : "BIZ_KAFKA"
        return [
            "\(prefix)_PORT=\(port)", "\(prefix)_DIR=\(directory)",
            BizRetailProcess.packageRoot + "/scripts/\(kind.rawValue)", command,
        ]
    }
}

/// A TCP port nothing listens on right now.
public func freePort() throws -> Int { try FreePort.pick() }
