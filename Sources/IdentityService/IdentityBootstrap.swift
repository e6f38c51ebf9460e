import BizEvents
import BizServiceKit
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// First-start set-up: a platform administrator and a first-party OAuth2 client, and the gateway's own client.
///
/// The administrator's and client's credentials come from `BIZ_BOOTSTRAP_*` when set; otherwise they are generated
/// and written to `<data-dir>/bootstrap-credentials.json` (mode 0600). Secrets are never logged.
public struct IdentityBootstrap: Sendable {
    public struct Credentials: Sendable, Hashable {
        public var adminEmail: String?
        public var adminPassword: String?
        public var clientID: String?
        public var clientSecret: String?

        public init(
            adminEmail: String? = nil, adminPassword: String? = nil, clientID: String? = nil,
            clientSecret: String? = nil
        ) {
            self.adminEmail = adminEmail
            self.adminPassword = adminPassword
            self.clientID = clientID
            self.clientSecret = clientSecret
        }
    }

    public static let gatewayClientID = "biz-retail-gateway"

    public var directory: IdentityDirectory
    public var dataDirectory: URL
    public var logger: Logger

    public init(directory: IdentityDirectory, dataDirectory: URL, logger: Logger) {
        self.directory = directory
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    /// Creates the administrator and client when the directory has no user yet.
    public func run(_ given: Credentials) async throws {
        guard try await directory.userCount() == 0 else { return }
        do {
            try await create(given)
        } catch IdentityError.conflict {
            // Replicas starting together against one database: another one bootstrapped first.
            logger.info("bootstrap already done by another replica")
        }
    }

    private func create(_ given: Credentials) async throws {
        let email = given.adminEmail ?? "admin@biz-retail.local"
        let password = given.adminPassword ?? Secrets.random(bytes: 18)
        let clientID = given.clientID ?? "biz-retail-cli"
        let clientSecret = given.clientSecret ?? Secrets.random()
        let admin = try await directory.createUser(
            tenantID: "platform", email: email, name: "Platform administrator", password: password,
            roles: ["admin"], caller: nil
        )
        _ = try await directory.createClient(
            clientID: clientID, secret: clientSecret, name: "Biz Retail first-party client", tenantID: "platform",
            roles: ["admin"], grantTypes: ["password", "refresh_token", "client_credentials"], firstParty: true
        )
        let generated = given.adminPassword == nil || given.clientSecret == nil
        if generated {
            let file = dataDirectory.appendingPathComponent("bootstrap-credentials.json")
            let document: JSONValue = [
                "admin_email": .string(email), "admin_password": .string(password), "admin_id": .string(admin.publicID),
                "client_id": .string(clientID), "client_secret": .string(clientSecret),
            ]
            try PrivateFile.write(Data(document.canonicalBytes()), to: file)
            logger.notice("bootstrap credentials generated", metadata: ["file": "\(file.path)"])
        } else {
            logger.notice("bootstrap administrator and client created from BIZ_BOOTSTRAP_*")
        }
    }

    /// The gateway's own client (role `gateway`, client_credentials) with the configured secret: created when missing,
    /// its secret replaced when it changed.
    public func ensureGatewayClient(secret: String) async throws {
        if let existing = try await directory.client(id: Self.gatewayClientID) {
            if !Secrets.matches(secret, hash: existing.secretHash) {
                try await directory.replaceClientSecret(clientID: Self.gatewayClientID, secret: secret)
                logger.notice("gateway client secret replaced from the configuration")
            }
            return
        }
        do {
            _ = try await directory.createClient(
                clientID: Self.gatewayClientID, secret: secret, name: "Biz Retail API gateway", tenantID: "platform",
                roles: ["gateway"], grantTypes: ["client_credentials"], firstParty: true
            )
        } catch IdentityError.conflict {
            logger.info("gateway client created by another replica")
        }
    }
}
