import BizAuth
import BizEvents
import BizServiceKit
import Foundation
import IdentityService
import Logging

/// The files a process keeps in its data directory: generated keys and ids, and where it listens.
struct DataDirectory: Sendable {
    let url: URL
    let logger: Logger

    /// Creates the directory when missing, readable by its owner only (0700): it holds databases with password hashes
    /// and personal data, and generated keys. One that others can read (an older version made it 0755) is narrowed.
    init(path: String, logger: Logger) throws {
        url = URL(fileURLWithPath: path, isDirectory: true)
        self.logger = logger
        let manager = FileManager.default
        do {
            if !manager.fileExists(atPath: url.path) {
                try manager.createDirectory(
                    at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let mode = (try manager.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? 0
            if mode & 0o077 != 0 {
                try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
                logger.notice(
                    "data directory narrowed to its owner (0700)",
                    metadata: ["directory": "\(url.path)", "was": "\(String(mode & 0o777, radix: 8))"])
            }
        } catch {
            throw RuntimeError("cannot create the data directory \(url.path): \(error.localizedDescription)")
        }
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// The master key: `BIZ_MASTER_KEY` (base64, 32 bytes), else `master.key` (generated on first start, 0600).
    func masterKey(given: Secret?) throws -> MasterKey {
        if let given {
            guard let key = MasterKey(base64: given.value) else {
                throw RuntimeError("BIZ_MASTER_KEY must be 32 bytes, base64-encoded")
            }
            return key
        }
        let file = file("master.key")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            guard let key = MasterKey(base64: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw RuntimeError("\(file.path) does not hold a valid master key")
            }
            return key
        }
        let key = MasterKey.generate()
        try PrivateFile.write(Data(key.base64.utf8), to: file)
        logger.notice(
            "master key generated; set BIZ_MASTER_KEY to manage it yourself", metadata: ["file": "\(file.path)"])
        return key
    }

    /// This replica's id: `BIZ_INSTANCE_ID`, else one generated on first start and kept in `instance-id`, so a
    /// restarted replica is the same instance.
    func instanceID(given: String?) -> String {
        if let given { return given }
        let file = file("instance-id")
        if let text = try? String(contentsOf: file, encoding: .utf8),
            EventID.isUUID(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let generated = EventID.generate()
        try? Data(generated.utf8).write(to: file, options: .atomic)
        return generated
    }
}
