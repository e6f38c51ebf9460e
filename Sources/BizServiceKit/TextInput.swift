import BizEvents
import Foundation

/// The checks every free-text field of a request gets: a bound in UTF-8 bytes (so every event stays far below
/// `EventEnvelope.maximumEncodedSize`) and no control characters.
public enum TextInput {
    /// `text` if it fits in `limit` bytes and holds no control character (line breaks and tabs only where
    /// `allowsLineBreaks`); otherwise the field's error.
    public static func checked(_ text: String, field: String, limit: Int, allowsLineBreaks: Bool = false)
        throws(ServiceError) -> String
    {
        guard text.utf8.count <= limit else {
            throw .invalidArgument(field: field, problem: "is over \(limit) bytes")
        }
        let allowed: Set<Unicode.Scalar> = allowsLineBreaks ? ["\n", "\r", "\t"] : []
        guard !text.containsControlCharacter(except: allowed) else {
            throw .invalidArgument(field: field, problem: "must not contain control characters")
        }
        return text
    }

    /// `text` trimmed, which must not be empty, then ``checked(_:field:limit:allowsLineBreaks:)``.
    public static func required(_ text: String, field: String, limit: Int) throws(ServiceError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidArgument(field: field, problem: "is required") }
        return try checked(trimmed, field: field, limit: limit)
    }
}
