import BizEvents
import Foundation

/// A test server run from one of the project's scripts (`scripts/…`), which writes a file once it is ready.
struct HelperScript: Sendable {
    let process: Process
    /// What the script wrote to its ready file.
    let ready: String

    /// Runs `scripts/<name> arguments…` and waits up to 20 s for `readyFile` to hold something; `install` says
    /// what the script needs when it does not start.
    static func start(_ name: String, arguments: [String], readyFile: String, install: String) async throws
        -> HelperScript
    {
        try? FileManager.default.removeItem(atPath: readyFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BizRetailProcess.packageRoot + "/scripts/" + name)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var ready = ""
        let deadline = ContinuousClock.now + .seconds(20)
        while ready.isEmpty, process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            ready = (try? String(contentsOfFile: readyFile, encoding: .utf8)) ?? ""
        }
        guard !ready.isEmpty else {
            kill(process.processIdentifier, SIGKILL)
            throw ProcessFailure("scripts/\(name) did not start (\(install))")
        }
        return HelperScript(process: process, ready: ready)
    }

    /// SIGKILL: a child of the test process may inherit a mask that blocks SIGTERM, and Foundation's
    /// `waitUntilExit` can spin forever on Linux (it is not waited for).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
    }

    /// Each line of a JSON-lines file a script appends to, with its `headers` object as a dictionary; none when
    /// the file is not there yet.
    static func records(_ path: String) throws -> [(value: JSONValue, headers: [String: String])] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            let value = try JSONParser.parse(Array(line.utf8))
            var headers: [String: String] = [:]
            if case .object(let object)? = value["headers"] {
                for (name, header) in object { headers[name] = header.stringValue }
            }
            return (value, headers)
        }
    }

    /// Writes the codes a script answers its next requests with (a JSON list).
    static func writeAnswers(_ codes: [Int], to path: String) throws {
        try Data("[\(codes.map(String.init).joined(separator: ","))]".utf8).write(to: URL(fileURLWithPath: path))
    }
}
