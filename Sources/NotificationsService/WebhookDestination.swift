import BizServiceKit
import Foundation
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// A webhook's URL, checked: `https` (or `http` to a host the allow-list names), a host, no credentials, at most
/// 2048 bytes. Any string of 1 to 2048 bytes is what the API's schema allows: a malformed one is a 422.
public struct WebhookURL: Sendable, Hashable {
    public var text: String
    public var host: String
    public var port: Int
    public var isHTTPS: Bool

    static let maximumBytes = 2048

    public init(_ text: String, policy: DestinationPolicy) throws(ServiceError) {
        guard !text.isEmpty else { throw .invalidArgument(field: "url", problem: "is required") }
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw .unprocessable(field: "url", problem: "must be an absolute http(s) URL") }
        guard text.utf8.count <= Self.maximumBytes else {
            throw .invalidArgument(field: "url", problem: "is over \(Self.maximumBytes) bytes")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else {
            throw .unprocessable(field: "url", problem: "must be an absolute http(s) URL")
        }
        guard components.user == nil, components.password == nil else {
            throw .unprocessable(field: "url", problem: "must not carry credentials: the signature authenticates")
        }
        guard components.fragment == nil else {
            throw .unprocessable(field: "url", problem: "must not have a fragment")
        }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        switch scheme {
        case "https": isHTTPS = true
        case "http" where policy.allowedHosts.contains(bareHost) || IPAddress(bareHost).map(policy.listed) == true:
            isHTTPS = false
        case "http": throw .unprocessable(field: "url", problem: "must be https")
        default: throw .unprocessable(field: "url", problem: "must be an absolute http(s) URL")
        }
        self.text = text
        self.host = bareHost
        self.port = components.port ?? (isHTTPS ? 443 : 80)
    }

    /// The addresses the host names now (itself when it is an address), through `getaddrinfo` on NIO's thread pool.
    public func resolve() async throws -> [IPAddress] {
        if let address = IPAddress(host) { return [address] }
        let host = host
        return try await NIOThreadPool.singleton.runIfActive { Self.getaddrinfo(host) }
    }

    static func getaddrinfo(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard Glibc.getaddrinfo(host, nil, &hints, &results) == 0 else { return [] }
        defer { freeaddrinfo(results) }
        var addresses: [IPAddress] = []
        var cursor = results
        while let entry = cursor?.pointee {
            if let socketAddress = entry.ai_addr {
                switch Int32(socketAddress.pointee.sa_family) {
                case AF_INET:
                    socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        var address = pointer.pointee.sin_addr
                        addresses.append(IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }))
                    }
                case AF_INET6:
                    socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        var address = pointer.pointee.sin6_addr
                        addresses.append(IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }))
                    }
                default: break
                }
            }
            cursor = entry.ai_next
        }
        var seen = Set<IPAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }

    /// The addresses a request may go to now: every one the host resolves to, when the policy allows them all.
    /// Checked when a webhook is saved and again before every attempt (the name may since resolve elsewhere: DNS
    /// rebinding), and the request then goes to the first of them, not to a second resolution.
    public func checkedAddresses(policy: DestinationPolicy) async throws(DestinationRefusal) -> [IPAddress] {
        let addresses = (try? await resolve()) ?? []
        guard !addresses.isEmpty else { throw .unresolved }
        guard policy.allows(host: host, resolvedTo: addresses) else { throw .forbidden }
        return addresses
    }
}

/// Why a webhook's URL may not be called now.
public enum DestinationRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// Its host resolves to no address (now: DNS may be down).
    case unresolved
    /// It resolves to an address the policy refuses.
    case forbidden

    /// What is wrong with the URL, after "url ".
    public var problem: String {
        switch self {
        case .unresolved: "has a host that does not resolve"
        case .forbidden: "resolves to a loopback, private or reserved address, which webhooks may not call"
        }
    }

    public var description: String { "the URL \(problem)" }
}

extension DestinationPolicy {
    /// Whether an address is in one of the allow-list's networks.
    func listed(_ address: IPAddress) -> Bool { allowedNetworks.contains { $0.contains(address) } }
}
