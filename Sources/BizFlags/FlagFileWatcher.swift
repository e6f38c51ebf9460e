import BizEvents
import Foundation
import Logging
import ServiceLifecycle

/// Keeps ``FeatureFlags`` in step with a flag file (`BIZ_FLAGS_FILE`): reads it every `interval` and, when its bytes
/// differ from those of the flags in force, puts the new flags in force and hands the changes to the flags'
/// observers. A file that does not parse is refused
/// with an error in the log, once per version of it, and the flags in force stay; so does a file that went missing.
public struct FlagFileWatcher: Service {
    public let path: String
    let flags: FeatureFlags
    let interval: Duration
    let logger: Logger

    public init(path: String, flags: FeatureFlags, interval: Duration = .seconds(1), logger: Logger) {
        self.path = path
        self.flags = flags
        self.interval = interval
        self.logger = logger
    }

    /// Reads and parses the file once.
    public static func load(_ path: String) throws(FlagSetError) -> FlagSet {
        try FlagSet.parse(try read(path))
    }

    static func read(_ path: String) throws(FlagSetError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FlagSetError("", "cannot read the flag file \(path)")
        }
        return Array(data)
    }

    public func run() async throws {
        // The bytes last refused, so that a malformed file is reported once.
        var refused: [UInt8]?
        var missing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled && !Task.isShuttingDownGracefully else { break }
            let bytes: [UInt8]
            do {
                bytes = try Self.read(path)
                missing = false
            } catch {
                if !missing {
                    logger.warning(
                        "the flag file cannot be read; the flags in force stay", metadata: ["file.path": "\(path)"])
                }
                missing = true
                continue
            }
            guard bytes != refused, bytes != flags.flagSet.source else { continue }
            do {
                let revision = Self.modificationTime(path)
                let changes = flags.replace(with: try FlagSet.parse(bytes)).map {
                    var change = $0
                    change.revision = revision
                    return change
                }
                logger.notice(
                    "flag file reloaded",
                    metadata: [
                        "file.path": "\(path)", "flags.changed": "\(changes.map(\.key).joined(separator: ","))",
                    ])
                if !changes.isEmpty { await flags.notify(changes) }
            } catch {
                refused = bytes
                logger.error(
                    "the flag file was refused; the flags in force stay",
                    metadata: ["file.path": "\(path)", "error.message": "\(error.description)"])
            }
        }
    }

    static func modificationTime(_ path: String) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else { return "" }
        return "\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)"
    }
}
