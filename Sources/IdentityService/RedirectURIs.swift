import Foundation

/// A client's `redirect_uris`: where the authorization endpoint may send its responses (RFC 6749 §3.1.2, RFC 8252).
/// Each is absolute, without a fragment, and `https`, or `http` on a loopback host (a native app's local listener);
/// at most ``maximumCount``, each at most ``maximumLength`` characters (400 beyond those bounds), without spaces or
/// control characters. A URI outside these rules is well-formed input the platform refuses: 422.
public enum RedirectURIs {
    public static let maximumCount = 10
    public static let maximumLength = 2_000
    static let loopbackHosts: Set<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]

    /// The URIs, de-duplicated in order, or the error naming the first bad one.
    public static func checked(_ uris: [String]) throws(IdentityError) -> [String] {
        guard uris.count <= maximumCount else {
            throw .invalidArgument(field: "redirect_uris", problem: "holds more than \(maximumCount) URIs")
        }
        for (index, uri) in uris.enumerated() {
            guard uri.unicodeScalars.count <= maximumLength else {
                throw .invalidArgument(field: "redirect_uris[\(index)]", problem: "is over \(maximumLength) characters")
            }
            guard isAllowed(uri) else {
                throw .unprocessable(
                    field: "redirect_uris[\(index)]",
                    problem: "must be an absolute https URI (or http on localhost) without a fragment")
            }
        }
        var kept: Set<String> = []
        return uris.filter { kept.insert($0).inserted }
    }

    static func isAllowed(_ uri: String) -> Bool {
        guard uri.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
            let components = URLComponents(string: uri), components.fragment == nil,
            let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased(), !host.isEmpty
        else { return false }
        return scheme == "https" || (scheme == "http" && loopbackHosts.contains(host))
    }
}
