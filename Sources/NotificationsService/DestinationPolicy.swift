#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address, as bytes in network order.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// From its text (`203.0.113.7`, `2001:db8::1`, or `[::1]`); nil when it is not an address.
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    public var isIPv4: Bool { bytes.count == 4 }

    /// The IPv4 address an IPv6 one carries (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`).
    var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        let nat64 = bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]
        return mapped || nat64 ? IPAddress(bytes: Array(bytes[12...])) : nil
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A network: an address and the length of its prefix (`10.0.0.0/8`, `fc00::/7`).
public struct IPNetwork: Sendable, Hashable {
    public let address: IPAddress
    public let prefixLength: Int

    /// From CIDR notation; a bare address is a network of one.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = IPAddress(first) else { return nil }
        let maximum = address.bytes.count * 8
        guard let length = parts.count == 2 ? Int(parts[1]) : maximum, (0...maximum).contains(length) else {
            return nil
        }
        self.address = address
        self.prefixLength = length
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(address.bytes, candidate.bytes) where remaining > 0 {
            let bits = min(remaining, 8)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            guard mine & mask == theirs & mask else { return false }
            remaining -= bits
        }
        return true
    }
}

/// Where webhooks may be posted: public addresses only (no loopback, link-local, private, shared, multicast,
/// reserved or documentation addresses, in IPv4 or IPv6, nor an IPv4 one inside IPv6), so a subscriber cannot make
/// the platform call its own network (SSRF). `BIZ_WEBHOOK_ALLOWED_HOSTS` lists host names and networks allowed anyway
/// (the tests' local receivers).
public struct DestinationPolicy: Sendable {
    public var allowedHosts: Set<String> = []
    public var allowedNetworks: [IPNetwork] = []

    public init() {}

    /// From a comma-separated list of host names, addresses and CIDR networks.
    public init(allowList: String) throws(DestinationPolicyError) {
        for item in allowList.split(separator: ",").map({ $0.trimmingWhitespace() }) where !item.isEmpty {
            if item.contains("/") || IPAddress(item) != nil {
                guard let network = IPNetwork(item) else { throw DestinationPolicyError(item: item) }
                allowedNetworks.append(network)
            } else {
                guard item.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
                    throw DestinationPolicyError(item: item)
                }
                allowedHosts.insert(item.lowercased())
            }
        }
    }

    /// Whether `host`, resolved to `addresses`, may be called: a listed host name, or every address public or in a
    /// listed network. A name that resolves to nothing is refused.
    public func allows(host: String, resolvedTo addresses: [IPAddress]) -> Bool {
        if allowedHosts.contains(host.lowercased()) { return true }
        guard !addresses.isEmpty else { return false }
        return addresses.allSatisfy { address in
            allowedNetworks.contains { $0.contains(address) } || Self.isPublic(address)
        }
    }

    /// Whether an address is reachable on the public internet (and so fit for a webhook).
    public static func isPublic(_ address: IPAddress) -> Bool {
        if let inner = address.embeddedIPv4 { return isPublic(inner) }
        let blocked = address.isIPv4 ? Self.blockedIPv4 : Self.blockedIPv6
        return !blocked.contains { $0.contains(address) }
    }

    /// RFC 6890's special-purpose IPv4 networks, and multicast and broadcast.
    static let blockedIPv4: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    ].compactMap { IPNetwork($0) }

    /// The IPv6 ones: unspecified, loopback, discard, documentation, unique local, link-local, multicast, and the
    /// old site-local.
    static let blockedIPv6: [IPNetwork] = [
        "::/128", "::1/128", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    ].compactMap { IPNetwork($0) }
}

/// A `BIZ_WEBHOOK_ALLOWED_HOSTS` item that is neither a host name nor an address or network.
public struct DestinationPolicyError: Error, Sendable, CustomStringConvertible {
    public var item: String
    public var description: String {
        "BIZ_WEBHOOK_ALLOWED_HOSTS: '\(item)' is not a host name, an address or a network (CIDR)"
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
