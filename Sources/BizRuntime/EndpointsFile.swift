import BizEvents
import Foundation

/// `<data-dir>/endpoints.json`: where the running process listens, for the CLI and tests.
actor EndpointsFile {
    let url: URL
    var entries: [String: JSONValue] = [:]

    init(url: URL) {
        self.url = url
        try? FileManager.default.removeItem(at: url)
    }

    func record(_ key: String, _ value: String) {
        entries[key] = .string(value)
        try? Data(JSONValue.object(entries).canonicalBytes()).write(to: url, options: .atomic)
    }
}
