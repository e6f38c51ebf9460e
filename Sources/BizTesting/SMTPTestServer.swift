import BizEvents
import Foundation
import Synchronization

/// The tests' SMTP server (`scripts/smtp-server`: PyPI's aiosmtpd, with STARTTLS or TLS from the first byte, and
/// AUTH when given a user): it lists what it accepted with ``received()``, refuses the next recipients with the
/// codes given to ``answer(_:)``, and can be stopped and started again on the same port.
public final class SMTPTestServer: Sendable {
    public enum TLS: String, Sendable {
        case startTLS = "starttls"
        case implicit
        case none
    }

    /// One message, as the server parsed it (Python's email package).
    public struct Message: Sendable {
        public var mailFrom: String
        public var recipients: [String]
        /// The user that authenticated, if any.
        public var user: String?
        /// Whether it came over TLS.
        public var tls: Bool
        public var headers: [String: String]
        public var text: String?
        public var html: String?
        public var raw: String
    }

    public let port: Int
    /// The server's self-signed certificate (for `BIZ_SMTP_CA_FILE`).
    public let certificateFile: String
    let directory: String
    let arguments: [String]
    private let script: Mutex<HelperScript?>

    private init(port: Int, directory: String, arguments: [String], script: HelperScript) {
        self.port = port
        self.directory = directory
        self.arguments = arguments
        self.certificateFile = directory + "/ca.pem"
        self.script = Mutex(script)
    }

    /// Starts a server keeping its files in `directory`; with `user`, AUTH is required.
    public static func start(
        in directory: String, tls: TLS = .startTLS, requireTLS: Bool = false, user: String? = nil,
        password: String? = nil
    ) async throws -> SMTPTestServer {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var arguments = [directory, "--tls", tls.rawValue]
        if requireTLS { arguments.append("--require-tls") }
        if let user, let password { arguments += ["--user", user, "--password", password] }
        let script = try await launch(arguments, directory: directory)
        guard let port = Int(script.ready) else { throw ProcessFailure("scripts/smtp-server wrote no port") }
        return SMTPTestServer(port: port, directory: directory, arguments: arguments, script: script)
    }

    static func launch(_ arguments: [String], directory: String) async throws -> HelperScript {
        try await HelperScript.start(
            "smtp-server", arguments: arguments, readyFile: directory + "/ready",
            install: "pip install aiosmtpd cryptography")
    }

    /// The SMTP codes the next recipients get, in order (then 250).
    public func answer(_ codes: [Int]) throws {
        try HelperScript.writeAnswers(codes, to: directory + "/answers")
    }

    public func received() throws -> [Message] {
        try HelperScript.records(directory + "/received.jsonl").map { value, headers in
            return Message(
                mailFrom: value["mail_from"]?.stringValue ?? "",
                recipients: value["rcpt_tos"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                user: value["auth_user"]?.stringValue, tls: value["tls"] == .bool(true), headers: headers,
                text: value["text"]?.stringValue, html: value["html"]?.stringValue,
                raw: value["raw"]?.stringValue ?? "")
        }
    }

    /// Stops the server (its port then refuses connections).
    public func stop() {
        script.withLock { script in
            script?.stop()
            script = nil
        }
    }

    /// Starts it again on the same port, with the same certificate.
    public func restart() async throws {
        let stopped = script.withLock { $0?.process }
        stop()
        let deadline = ContinuousClock.now + .seconds(5)
        while stopped?.isRunning == true, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let started = try await Self.launch(arguments + ["--port", String(port)], directory: directory)
        script.withLock { $0 = started }
    }
}
