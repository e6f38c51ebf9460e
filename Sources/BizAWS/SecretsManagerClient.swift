import BizEvents
import Foundation

/// AWS Secrets Manager's `GetSecretValue` (protocol `x-amz-json-1.1`), signed with SigV4.
public final class SecretsManagerClient: Sendable {
    let client: AWSJSONClient

    /// `endpoint` defaults to the region's public one; a local server (moto) is given explicitly.
    public init(region: String, credentials: AWSCredentials, endpoint: URL? = nil, timeout: Duration = .seconds(10)) {
        client = AWSJSONClient(
            service: "secretsmanager", targetPrefix: "secretsmanager", jsonVersion: "1.1", region: region,
            credentials: credentials,
            endpoint: endpoint ?? URL(string: "https://secretsmanager.\(region).amazonaws.com")!, timeout: timeout)
    }

    /// A secret's current value (`AWSCURRENT`) and the id of that version. A binary secret is refused: the platform's
    /// secrets are text.
    public func secretValue(_ id: String) async throws -> (value: String, version: String) {
        let response = try await client.call("GetSecretValue", ["SecretId": .string(id)])
        guard let value = response["SecretString"]?.stringValue else {
            throw AWSError(type: "BinarySecret", message: "the secret holds no text (SecretString)", status: 200)
        }
        return (value, response["VersionId"]?.stringValue ?? "")
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }
}
