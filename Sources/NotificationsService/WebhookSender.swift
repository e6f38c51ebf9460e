import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Posts webhooks with AsyncHTTPClient, to an address checked just before: the URL's host is resolved and every
/// address checked against the policy, and the request goes to the first of them (AsyncHTTPClient's DNS override:
/// the TLS certificate is still verified for the host name), so a name that resolves elsewhere by the time of the
/// request (DNS rebinding) cannot reach the platform's own network. Redirects are not followed.
public final class WebhookSender: Sendable {
    public struct Settings: Sendable {
        public var policy: DestinationPolicy
        /// Seconds an attempt may take, connecting included.
        public var timeout: Int64
        /// A PEM file of certificate authorities trusted beside the system's (`BIZ_WEBHOOK_CA_FILE`).
        public var certificateAuthorities: String?

        public init(policy: DestinationPolicy = .init(), timeout: Int64 = 10, certificateAuthorities: String? = nil) {
            self.policy = policy
            self.timeout = timeout
            self.certificateAuthorities = certificateAuthorities
        }
    }

    public let settings: Settings
    /// One client per (host, checked address), so connections are pooled per destination; the oldest is shut down
    /// beyond ``maximumClients``.
    private let clients = Mutex<[(key: String, client: HTTPClient)]>([])
    static let maximumClients = 64
    private let tls: TLSConfiguration

    public init(settings: Settings) throws {
        self.settings = settings
        var tls = TLSConfiguration.makeClientConfiguration()
        if let file = settings.certificateAuthorities {
            tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(file))]
        }
        self.tls = tls
    }

    /// The answer's status, or why there was none.
    public enum Answer: Sendable, Hashable {
        case status(Int)
        case refused(String)
        case unreachable(String)
    }

    /// Posts `body` to `url` with `headers`.
    public func post(_ url: WebhookURL, body: Data, headers: [(String, String)]) async -> Answer {
        let addresses: [IPAddress]
        do {
            addresses = try await url.checkedAddresses(policy: settings.policy)
        } catch .unresolved {
            return .unreachable(DestinationRefusal.unresolved.description)
        } catch {
            return .refused(error.description)
        }
        let client = client(host: url.host, address: addresses[0])
        var request = HTTPClientRequest(url: url.text)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "biz-retail-webhooks/1")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(settings.timeout))
            // The answer's body is read and dropped (a receiver's text is not the platform's to keep).
            for try await _ in response.body {}
            return .status(Int(response.status.code))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .unreachable("no answer within \(settings.timeout) s")
        } catch let error as HTTPClientError where error == .connectTimeout {
            return .unreachable("could not connect within \(settings.timeout) s")
        } catch let error as NIOSSLError {
            return .unreachable("TLS failed: \(error)")
        } catch {
            return .unreachable(Self.describe(error))
        }
    }

    /// A transport error in a few words, without the request (its URL may carry a token in its query).
    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return "connection failed: \(error.description)" }
        if error is ChannelError { return "connection failed: \(error)" }
        if let error = error as? HTTPClientError { return "HTTP failure: \(error)" }
        return "connection failed: \(String(describing: type(of: error)))"
    }

    private func client(host: String, address: IPAddress) -> HTTPClient {
        let key = "\(host)|\(address)"
        let (client, evicted) = clients.withLock { clients -> (HTTPClient, HTTPClient?) in
            if let found = clients.first(where: { $0.key == key }) { return (found.client, nil) }
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            configuration.tlsConfiguration = tls
            configuration.timeout = .init(connect: .seconds(settings.timeout), read: .seconds(settings.timeout))
            if IPAddress(host) == nil { configuration.dnsOverride = [host: address.description] }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients.append((key, client))
            return (client, clients.count > Self.maximumClients ? clients.removeFirst().client : nil)
        }
        if let evicted {
            // After its requests' time is up.
            let grace = settings.timeout + 1
            Task {
                try? await Task.sleep(for: .seconds(grace))
                try? await evicted.shutdown()
            }
        }
        return client
    }

    /// Shuts every client down (the process is stopping).
    public func shutdown() async {
        let all = clients.withLock { clients in
            defer { clients.removeAll() }
            return clients.map(\.client)
        }
        for client in all { try? await client.shutdown() }
    }
}
