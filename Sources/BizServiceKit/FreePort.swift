#if canImport(Glibc)
    import Glibc
#endif

/// Resolves port 0 ("any free port") before services start, so every component (the gateway's gRPC client, the
/// token issuer URL) knows the real port. The port is free when picked; another process could take it before the
/// server binds, which only matters on a busy machine and then fails loudly at start.
public enum FreePort {
    public static func resolve(_ port: Int, host: String) throws -> Int {
        port == 0 ? try pick(host: host) : port
    }

    /// A TCP port nothing listens on right now on `host` (the kernel's choice).
    public static func pick(host: String = "127.0.0.1") throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw FreePortError("cannot open a socket to find a free port") }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr(host == "0.0.0.0" ? "127.0.0.1" : host)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw FreePortError("cannot bind \(host) to find a free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// No free port could be found (the system is out of sockets, or the host is not local).
public struct FreePortError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
