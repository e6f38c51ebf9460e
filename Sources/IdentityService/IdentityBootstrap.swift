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

        /// Whether the bootstrap generates a secret (the administrator's password or the client's): then it writes
        /// `bootstrap-credentials.json`.
        var generates: Bool { adminPassword == nil || clientSecret == nil }
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

    /// Creates the administrator and client when the directory has no user yet, or finishes a first start that was
    /// interrupted (its credentials file still marked pending).
    ///
    /// Generated credentials are written before they are stored, and the file marked pending until both are: a first
    /// start stopped in between (Ctrl-C, a crash, a power cut) leaves credentials that the next start completes,
    /// never an administrator whose generated password nobody has.
    public func run(_ given: Credentials) async throws {
        let file = dataDirectory.appendingPathComponent("bootstrap-credentials.json")
        let pending = BootstrapFile.read(file).flatMap { $0.pending == true ? $0 : nil }
        if pending == nil, try await directory.userCount() != 0 { return }
        do {
            try await create(given, resuming: pending, file: file)
        } catch IdentityError.conflict {
            // Replicas starting together against one database: another one bootstrapped first; this one's file would
            // name credentials that were never stored.
            if pending != nil || given.generates {
                try? FileManager.default.removeItem(at: file)
            }
            logger.info("bootstrap already done by another replica")
        }
    }

    private func create(_ given: Credentials, resuming pending: BootstrapFile?, file: URL) async throws {
        var plan = BootstrapFile(
            adminEmail: given.adminEmail ?? pending?.adminEmail ?? "admin@biz-retail.local",
            adminPassword: given.adminPassword ?? pending?.adminPassword ?? Secrets.random(bytes: 18),
            adminID: pending?.adminID ?? EventID.generate(),
            clientID: given.clientID ?? pending?.clientID ?? "biz-retail-cli",
            clientSecret: given.clientSecret ?? pending?.clientSecret ?? Secrets.random(), pending: true)
        if given.generates { try plan.write(to: file) }
        if try await directory.user(publicID: plan.adminID) == nil {
            // Another start's administrator (a replica's) is not this plan's: it bootstrapped first.
            guard try await directory.userCount() == 0 else { throw IdentityError.conflict("bootstrapped") }
            _ = try await directory.createUser(
                tenantID: "platform", email: plan.adminEmail, name: "Platform administrator",
                password: plan.adminPassword, roles: ["admin"], caller: nil, publicID: plan.adminID)
        }
        if try await directory.client(id: plan.clientID) == nil {
            _ = try await directory.createClient(
                clientID: plan.clientID, secret: plan.clientSecret, name: "Biz Retail login client",
                tenantID: "platform", roles: [], grantTypes: ["password", "refresh_token"], firstParty: true)
        }
        if given.generates {
            plan.pending = nil
            try plan.write(to: file)
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
        // Written before the client is stored: a start stopped in between leaves a secret nobody stored (the next
        // start makes another), never a client whose secret nobody has.
        let secret = Secrets.random()
        let file = dataDirectory.appendingPathComponent("operator-credentials.json")
        let document: JSONValue = ["client_id": .string(Self.operatorClientID), "client_secret": .string(secret)]
        try PrivateFile.write(Data(document.canonicalBytes()), to: file)
        guard
            try await ensureServiceClient(
                Self.operatorClientID, name: "Biz Retail operator CLI", role: "admin", secret: secret)
        else {
            // Another replica stored it first, with its own secret (in its own data directory).
            try? FileManager.default.removeItem(at: file)
            return
        }
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

/// `<data-dir>/bootstrap-credentials.json`: the generated administrator's and login client's credentials, `pending`
/// until both are stored.
struct BootstrapFile: Codable, Equatable {
    var adminEmail: String
    var adminPassword: String
    var adminID: String
    var clientID: String
    var clientSecret: String
    var pending: Bool?

    enum CodingKeys: String, CodingKey {
        case adminEmail = "admin_email"
        case adminPassword = "admin_password"
        case adminID = "admin_id"
        case clientID = "client_id"
        case clientSecret = "client_secret"
        case pending
    }

    /// The file's credentials; `nil` when there is no such file or it is not one (then the directory decides).
    static func read(_ file: URL) -> BootstrapFile? {
        guard let data = try? Data(contentsOf: file) else { return nil }
        return try? JSONDecoder().decode(BootstrapFile.self, from: data)
    }

    func write(to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try PrivateFile.write(try encoder.encode(self), to: file)
    }
}
