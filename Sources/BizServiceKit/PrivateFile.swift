import Foundation

/// Files only their owner may read (mode 0600): generated keys, secrets and credentials in the data directory.
public enum PrivateFile {
    /// Writes `data` to `file`, replacing it atomically; the file is 0600 from the moment it exists.
    public static func write(_ data: Data, to file: URL) throws {
        let temporary = file.appendingPathExtension("tmp")
        _ = FileManager.default.createFile(
            atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600])
        do {
            try data.write(to: temporary)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: temporary.path)
        } catch {
            throw PrivateFileError(file: file)
        }
        guard rename(temporary.path, file.path) == 0 else { throw PrivateFileError(file: file) }
    }
}

/// A private file could not be written (the data directory is not writable, or the disk is full).
public struct PrivateFileError: Error, CustomStringConvertible {
    public var file: URL
    public var description: String {
        "cannot write \(file.lastPathComponent) in the data directory \(file.deletingLastPathComponent().path)"
    }
}
