import BizAuth
import BizEvents
import BizServiceKit
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// First-start set-up: a platform administrator and a first-party login client; on every start, the services'
/// accounts (``ServiceAccount``: the gateway's and every module's) and the operator CLI's client.
///
/// The administrator's and login client's credentials come from `BIZ_BOOTSTRAP_*` when set; otherwise they are
/// generated and written to `<data-dir>/bootstrap-credentials.json` (mode 0600). The operator client's secret comes
/// from `BIZ_OPERATOR_CLIENT_SECRET`, else it is generated once into `<data-dir>/operator-credentials.json` (0600).
/// Secrets are never logged.
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

    /// The operator CLI's service client (`client_credentials`, platform `admin`).
    public static let operatorClientID = "biz-retail-operator"

    public var directory: IdentityDirectory
    public var dataDirectory: URL
    public var logger: Logger
    /// How long a platform client's previous secret stays accepted once the configuration gave it a new one, in
    /// seconds (`BIZ_SECRETS_GRACE_SECONDS`): other processes read the rotated secret within their own refresh
    /// interval.
    public var secretGraceSeconds: Int64 = 900

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
            clientID: clientID, secret: clientSecret, name: "Biz Retail login client", tenantID: "platform",
            roles: [], grantTypes: ["password", "refresh_token"], firstParty: true
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

    /// Each service's account with its secret: created when missing (with the public id its client id gives),
    /// its secret replaced when it changed. A client that holds an account's client id but is not that account (its
    /// public id differs) stops the start: its tokens would not be the service's.
    public func ensureServiceAccounts(_ accounts: [ServiceAccount]) async throws {
        for account in accounts {
            if let existing = try await directory.client(id: account.clientID),
                !ServiceAccount.isAccount(clientID: existing.clientID, publicID: existing.publicID)
            {
                throw IdentityError.misconfigured(
                    "the client \(account.clientID) is not the \(account.service) service's account; remove it")
            }
            try await ensureServiceClient(
                account.clientID, name: "Biz Retail \(account.service) service", role: account.role,
                secret: account.secret, publicID: account.publicID)
        }
    }

    /// The operator CLI's client (platform `admin`, client_credentials): with `secret` when configured (created, or its
    /// secret replaced when it changed); otherwise created once with a generated secret, written to
    /// `<data-dir>/operator-credentials.json`.
    public func ensureOperatorClient(secret configured: String?) async throws {
        if let configured {
            try await ensureServiceClient(
                Self.operatorClientID, name: "Biz Retail operator CLI", role: "admin", secret: configured)
            return
        }
        guard try await directory.client(id: Self.operatorClientID) == nil else { return }
        let secret = Secrets.random()
        guard
            try await ensureServiceClient(
                Self.operatorClientID, name: "Biz Retail operator CLI", role: "admin", secret: secret)
        else { return }
        let file = dataDirectory.appendingPathComponent("operator-credentials.json")
        let document: JSONValue = ["client_id": .string(Self.operatorClientID), "client_secret": .string(secret)]
        try PrivateFile.write(Data(document.canonicalBytes()), to: file)
        logger.notice("operator client credentials generated", metadata: ["file": "\(file.path)"])
    }

    /// Clients stored before login and service clients were separated, which mix both, become login clients.
    public func separateClientKinds() async throws {
        for clientID in try await directory.mixedClientIDs() {
            try await directory.separateKinds(clientID: clientID)
            logger.notice(
                "client made a login client: its client_credentials grant and own roles were removed",
                metadata: ["client_id": "\(clientID)"])
        }
    }

    /// A platform client's secret rotated in the configuration (read again while running): the new one is accepted
    /// from now on, the previous one for ``secretGraceSeconds`` more.
    public func rotateSecret(of clientID: String, to secret: String) async throws {
        guard let existing = try await directory.client(id: clientID) else { return }
        try await replaceSecret(of: existing, with: secret)
    }

    private func replaceSecret(of existing: ClientRecord, with secret: String) async throws {
        guard !Secrets.matches(secret, hash: existing.secretHash) else { return }
        let until = Int64(Date().timeIntervalSince1970) + secretGraceSeconds
        try await directory.replaceClientSecret(
            clientID: existing.clientID, secret: secret, keepingPreviousUntil: until)
        logger.notice(
            "client secret replaced from the configuration; the previous one is accepted for the grace period",
            metadata: ["client_id": "\(existing.clientID)", "grace_seconds": "\(secretGraceSeconds)"])
    }

    /// Creates the service client, or replaces its secret when it changed (the previous one accepted for the grace
    /// period); true when this call created it.
    @discardableResult
    private func ensureServiceClient(
        _ clientID: String, name: String, role: String, secret: String, publicID: String? = nil
    ) async throws -> Bool {
        if let existing = try await directory.client(id: clientID) {
            try await replaceSecret(of: existing, with: secret)
            return false
        }
        do {
            _ = try await directory.createClient(
                clientID: clientID, secret: secret, name: name, tenantID: "platform", roles: [role],
                grantTypes: ["client_credentials"], firstParty: true, publicID: publicID)
            return true
        } catch IdentityError.conflict {
            logger.info("client created by another replica", metadata: ["client_id": "\(clientID)"])
            return false
        }
    }
}
