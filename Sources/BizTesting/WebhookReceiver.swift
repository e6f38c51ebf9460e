import BizEvents
import Foundation

/// The tests' webhook receiver (`scripts/webhook-receiver`: HTTPS, requests checked with PyPI's standardwebhooks):
/// it verifies with the secrets given to ``trust(_:)``, answers the statuses given to ``answer(_:)`` (then 200), and
/// lists what it got with ``received()``.
public final class WebhookReceiver: Sendable {
    /// One request, as the receiver saw it.
    public struct Request: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: JSONValue?
        public var status: Int
        /// Whether standardwebhooks verified it with one of the trusted secrets.
        public var verified: Bool
        public var error: String?
    }

    /// `https://127.0.0.1:PORT`.
    public let baseURL: String
    /// The receiver's self-signed certificate (for `BIZ_WEBHOOK_CA_FILE`).
    public let certificateFile: String
    let directory: String
    private let script: HelperScript

    private init(baseURL: String, directory: String, script: HelperScript) {
        self.baseURL = baseURL
        self.directory = directory
        self.certificateFile = directory + "/ca.pem"
        self.script = script
    }

    /// Starts a receiver keeping its files in `directory`.
    public static func start(in directory: String) async throws -> WebhookReceiver {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = try await HelperScript.start(
            "webhook-receiver", arguments: [directory], readyFile: directory + "/ready",
            install: "pip install standardwebhooks cryptography")
        return WebhookReceiver(baseURL: script.ready, directory: directory, script: script)
    }

    /// The secrets requests are verified with (a webhook's `whsec_…`).
    public func trust(_ secrets: [String]) throws {
        try Data(secrets.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: directory + "/secrets"))
    }

    /// The statuses the next requests get, in order.
    public func answer(_ statuses: [Int]) throws {
        try HelperScript.writeAnswers(statuses, to: directory + "/answers")
    }

    public func received() throws -> [Request] {
        try HelperScript.records(directory + "/received.jsonl").map { value, headers in
            return Request(
                path: value["path"]?.stringValue ?? "", headers: headers,
                body: value["body"]?.stringValue.flatMap { try? JSONParser.parse(Array($0.utf8)) },
                status: Int(value["status"]?.integerValue ?? 0), verified: value["verified"] == .bool(true),
                error: value["error"]?.stringValue)
        }
    }

    public func stop() {
        script.stop()
    }
}
