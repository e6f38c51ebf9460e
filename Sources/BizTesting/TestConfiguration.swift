import BizProtos
import BizServiceKit

/// The bootstrap credentials ``testConfiguration(directory:)`` gives.
public enum TestCredentials {
    public static let adminEmail = "admin@biz-retail.test"
    public static let adminPassword = "a long admin password 123"
    public static let clientID = "biz-retail-test-cli"
    public static let clientSecret = "test-client-secret-0123456789"
    /// The operator CLI's service client (`biz-retail-operator`, platform admin, client_credentials).
    public static let operatorClientID = "biz-retail-operator"
    public static let operatorClientSecret = "test-operator-secret-0123456789"
    public static let issuer = "https://biz-retail.test"

    /// A client_credentials grant of the operator client.
    public static var operatorGrant: Bizretail_Identity_V1_IssueTokenRequest {
        .with {
            $0.grantType = "client_credentials"
            $0.clientID = operatorClientID
            $0.clientSecret = operatorClientSecret
        }
    }

    /// The bootstrap administrator's password grant through the bootstrap client.
    public static var adminPasswordGrant: Bizretail_Identity_V1_IssueTokenRequest {
        .with {
            $0.grantType = "password"
            $0.clientID = clientID
            $0.clientSecret = clientSecret
            $0.username = adminEmail
            $0.password = adminPassword
        }
    }
}

/// A configuration for a platform assembled inside a test: its data in `directory`, known bootstrap credentials, a
/// fixed issuer, and the cheapest bcrypt cost.
public func testConfiguration(directory: String) -> PlatformConfiguration {
    var configuration = PlatformConfiguration()
    configuration.dataDirectory = directory
    configuration.issuer = TestCredentials.issuer
    configuration.identity.bcryptCost = 4
    configuration.identity.bootstrapAdminEmail = TestCredentials.adminEmail
    configuration.identity.bootstrapAdminPassword = Secret(TestCredentials.adminPassword)
    configuration.identity.bootstrapClientID = TestCredentials.clientID
    configuration.identity.bootstrapClientSecret = Secret(TestCredentials.clientSecret)
    configuration.identity.operatorClientSecret = Secret(TestCredentials.operatorClientSecret)
    configuration.serviceClientSecrets["gateway"] = Secret("test-gateway-secret-0123456789")
    return configuration
}
