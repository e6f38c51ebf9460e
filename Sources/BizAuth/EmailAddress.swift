import BizEvents
import Foundation

/// Email addresses as the platform stores them: lowercased, `local@domain.tld`, at most 254 characters, no space or
/// control character (the OpenAPI document's ``pattern``).
public enum EmailAddress {
    public static let maximumLength = 254
    /// The rule as a JSON Schema (ECMA-262) pattern: one `@`, a non-empty local part, a domain with a dot that neither
    /// starts nor ends it.
    public static let pattern =
        #"^[^@ \x00-\x1f\x7f-\x9f]+@[^@ .\x00-\x1f\x7f-\x9f][^@ \x00-\x1f\x7f-\x9f]*\.[^@ \x00-\x1f\x7f-\x9f]*"#
        + #"[^@ .\x00-\x1f\x7f-\x9f]$"#

    /// The normalised address, or nil when `text` is not one.
    public static func normalize(_ text: String) -> String? {
        let email = text.lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !text.contains(" "), text.unicodeScalars.count <= maximumLength,
            !text.containsControlCharacter()
        else { return nil }
        return email
    }
}
