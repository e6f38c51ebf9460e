import Foundation

/// Where and how mail is sent, from `BIZ_SMTP_URL`:
///
/// - `smtp://[user:password@]host[:port]` (port 587 by default): STARTTLS when the server offers it; with
///   `?starttls=required`, only over STARTTLS. Credentials are never sent in clear: with them, STARTTLS is required.
/// - `smtps://[user:password@]host[:port]` (port 465 by default): TLS from the first byte.
///
/// The user and password are percent-decoded. AUTH uses PLAIN when the server offers it, else LOGIN.
public struct SMTPSettings: Sendable, Hashable {
    public enum Security: String, Sendable, Hashable {
        /// STARTTLS when offered.
        case opportunistic
        /// STARTTLS, or no mail.
        case startTLS
        /// TLS from the first byte (`smtps://`).
        case implicitTLS
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var user: String?
    public var password: String?
    /// A PEM file of certificate authorities trusted beside the system's (`BIZ_SMTP_CA_FILE`).
    public var certificateAuthorities: String?
    /// Seconds a connection, a command or a message may take.
    public var timeout: Int64 = 30
    /// The name given in EHLO.
    public var heloName: String = "biz-retail"
    /// Connections open at once (kept between messages); more senders wait for one.
    public var maximumConnections: Int = 10

    public init(
        host: String, port: Int, security: Security, user: String? = nil, password: String? = nil,
        certificateAuthorities: String? = nil
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.user = user
        self.password = password
        self.certificateAuthorities = certificateAuthorities
    }

    /// Why a `BIZ_SMTP_URL` is not one.
    public struct Invalid: Error, CustomStringConvertible, Hashable {
        public var description: String
    }

    /// Parses `url` (which is never repeated in the error: it may hold a password).
    public init(url text: String) throws(Invalid) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw Invalid(description: "is not a URL (smtp://host:port or smtps://host:port)")
        }
        guard let host = components.host, !host.isEmpty else { throw Invalid(description: "has no host") }
        let security: Security
        switch scheme {
        case "smtp":
            let mode = components.queryItems?.first(where: { $0.name == "starttls" })?.value ?? "optional"
            switch mode {
            case "optional": security = .opportunistic
            case "required": security = .startTLS
            default: throw Invalid(description: "starttls must be optional or required")
            }
        case "smtps":
            security = .implicitTLS
        default:
            throw Invalid(description: "must be smtp:// or smtps://")
        }
        if let unknown = components.queryItems?.first(where: { $0.name != "starttls" }) {
            throw Invalid(description: "has an unknown parameter \(unknown.name)")
        }
        let port = components.port ?? (security == .implicitTLS ? 465 : 587)
        guard (1...65535).contains(port) else { throw Invalid(description: "has a port out of range") }
        let user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        let password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        guard (user == nil) == (password == nil) else {
            throw Invalid(description: "must give both a user and a password, or neither")
        }
        self.init(
            host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port: port,
            security: security == .opportunistic && user != nil ? .startTLS : security, user: user, password: password)
    }

    /// The URL without its password, for `biz-retail config` and logs.
    public var redacted: String {
        let scheme = security == .implicitTLS ? "smtps" : "smtp"
        let credentials = user.map { "\($0):***@" } ?? ""
        let query = security == .startTLS && user == nil ? "?starttls=required" : ""
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(credentials)\(shownHost):\(port)\(query)"
    }
}
