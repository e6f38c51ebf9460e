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
    public static func start(_ kind: Kind, directory: String) throws -> TestServer {
        let port = try freePort()
        let server = TestServer(kind: kind, port: port, directory: directory, address: "")
        let address = try server.run("start").trimmingCharacters(in: .whitespacesAndNewlines)
        return TestServer(kind: kind, port: port, directory: directory, address: address)
    }

    public func stop() throws { _ = try run("stop") }
    public func restart() throws { _ = try run("restart") }

    /// Stops the server and removes its data.
    public func remove() {
        _ = try? run("stop")
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func run(_ command: String) throws -> String {
        let prefix = kind == .postgres ? "BIZ_PG" : "BIZ_KAFKA"
        let result = try runProgram(
            "/usr/bin/env",
            [
                "\(prefix)_PORT=\(port)", "\(prefix)_DIR=\(directory)",
                BizRetailProcess.packageRoot + "/scripts/\(kind.rawValue)", command,
            ])
        guard result.status == 0 else {
            throw ProcessFailure("scripts/\(kind.rawValue) \(command) failed: \(result.error)")
        }
        return result.output
    }
}

/// A TCP port nothing listens on right now.
public func freePort() throws -> Int { try FreePort.pick() }
