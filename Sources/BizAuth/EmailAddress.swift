import BizEvents
import Foundation

/// Email addresses as the platform stores them: trimmed, lowercased, `local@domain.tld`, at most 254 bytes.
public enum EmailAddress {
    /// The normalised address, or nil when `text` is not one.
    public static func normalize(_ text: String) -> String? {
        let email = text.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !email.contains(" "), email.utf8.count <= 254,
            !email.containsControlCharacter()
        else { return nil }
        return email
    }
}
