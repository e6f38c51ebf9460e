/// The metadata keys a service's error carries to the gateway, which turns them into problem+json.
public enum ErrorMetadata {
    /// The offending request field (`document_registry`), named in the problem's `field`.
    public static let field = "field"
    /// Which kind of failure it is, so the gateway picks the exact HTTP status.
    public static let reason = "reason"

    /// The values of ``reason``.
    public enum Reason {
        public static let invalid = "invalid"
        public static let unprocessable = "unprocessable"
        public static let conflict = "conflict"
        public static let versionMismatch = "version_mismatch"
        public static let notFound = "not_found"
    }
}
