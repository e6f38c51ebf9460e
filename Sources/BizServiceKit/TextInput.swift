import BizEvents
import Foundation

/// The checks every free-text field of a request gets, as the OpenAPI document states them (JSON Schema's
/// `maxLength` counts characters, that is Unicode scalars): a bound in characters (at most 4 UTF-8 bytes each, so every
/// event stays far below `EventEnvelope.maximumEncodedSize`) and no control characters (Unicode category Cc).
public enum TextInput {
    /// `text` if it fits in `limit` characters and holds no control character (line breaks and tabs only where
    /// `allowsLineBreaks`); otherwise the field's error.
    public static func checked(_ text: String, field: String, limit: Int, allowsLineBreaks: Bool = false)
        throws(ServiceError) -> String
    {
        guard text.unicodeScalars.count <= limit else {
            throw .invalidArgument(field: field, problem: "is over \(limit) characters")
        }
        let allowed: Set<Unicode.Scalar> = allowsLineBreaks ? ["\n", "\r", "\t"] : []
        guard !text.containsControlCharacter(except: allowed) else {
            throw .invalidArgument(field: field, problem: "must not contain control characters")
        }
        return text
    }

    /// ``checked(_:field:limit:allowsLineBreaks:)`` (without line breaks), then not blank: it must hold a character
    /// other than white space (Unicode's White_Space). Stored trimmed of white space.
    public static func required(_ text: String, field: String, limit: Int) throws(ServiceError) -> String {
        let trimmed = trimmed(try checked(text, field: field, limit: limit))
        guard !trimmed.isEmpty else { throw .invalidArgument(field: field, problem: "is required") }
        return trimmed
    }

    /// `text` without leading and trailing white space (Unicode's White_Space property).
    public static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
