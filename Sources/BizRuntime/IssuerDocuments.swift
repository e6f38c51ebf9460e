import AsyncHTTPClient
import BizAuth
import Foundation

/// Fetches an external issuer's discovery document and key set (at most 1 MiB, 10 s, 2xx only; redirects are not
/// followed, so a key set comes from where configuration or discovery says).
enum IssuerDocuments {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    @Sendable static func fetch(_ url: String) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw AuthError.unauthenticated("the issuer answered \(response.status.code)")
        }
        return String(buffer: body)
    }
}
