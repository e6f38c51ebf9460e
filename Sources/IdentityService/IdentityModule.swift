import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import BizStorage
import Foundation
import GRPCCore
import ServiceLifecycle

/// The Identity Provider's entry point: users, OAuth2 clients and the token-signing keys over its own database. It
/// bootstraps the platform administrator, the first-party client and the services' accounts, and publishes the keys
/// every verifier uses.
public enum IdentityModule: ServiceModule {
    public static let name = "identity"
    public static let producerService = "identity_service"
    public static let migrations = IdentitySchema.migrations
    public static let producedEvents = IdentityEvents.produced
    public static let access = AccessRules(
        publicMethods: IdentityGRPCService.publicMethods,
        methodScopes: [
            Bizretail_Identity_V1_IdentityService.Method.GetUserInfo.descriptor.fullyQualifiedMethod: "openid"
        ])
    public static let probe = Bizretail_Identity_V1_IdentityService.Method.GetSigningKeys.descriptor

    public static func assemble(_ context: ServiceContext) async throws -> ServiceParts {
        let settings = context.configuration.identity
        guard (4...31).contains(settings.bcryptCost) else {
            throw IdentityError.misconfigured("BIZ_BCRYPT_COST must be between 4 and 31")
        }
        let directory = IdentityDirectory(
            outbox: context.outbox, events: context.events, bcryptCost: UInt8(settings.bcryptCost))
        let keys = SigningKeyStore(outbox: context.outbox, events: context.events, masterKey: context.masterKey)
        var issuer = TokenIssuer(
            directory: directory, keys: keys, issuer: context.configuration.effectiveIssuer,
            audience: PlatformConfiguration.audience)
        issuer.throttle = LoginThrottle(
            policy: LoginPolicy(
                delayAfter: settings.loginDelayAfter, lockoutAfter: settings.loginLockoutAfter,
                lockoutSeconds: settings.loginLockoutSeconds, addressDelayAfter: settings.loginAddressDelayAfter))
        issuer.accessTokenLifetime = TimeInterval(settings.accessTokenLifetime)
        issuer.flags = context.flags
        issuer.serviceAudiences = Dictionary(
            uniqueKeysWithValues: context.serviceAccounts.map { ($0.clientID, $0.audiences) })
        var bootstrap = IdentityBootstrap(
            directory: directory, dataDirectory: context.dataDirectory, logger: context.logger)
        bootstrap.secretGraceSeconds = Int64(context.configuration.secretsGraceSeconds)
        try await bootstrap.run(
            .init(
                adminEmail: settings.bootstrapAdminEmail, adminPassword: settings.bootstrapAdminPassword?.value,
                clientID: settings.bootstrapClientID, clientSecret: settings.bootstrapClientSecret?.value))
        try await bootstrap.separateClientKinds()
        try await bootstrap.ensureServiceAccounts(context.serviceAccounts)
        try await bootstrap.ensureOperatorClient(secret: settings.operatorClientSecret?.value)
        // A configured secret read again with a new value (rotation): accepted at once, the previous one for the
        // grace period. (A secret derived from the master key changes only with it, at a restart.)
        var rotating = context.serviceAccounts.compactMap { account in
            context.configuration.serviceClientSecrets[account.service] == nil
                ? nil : (account.secretVariable, account.clientID)
        }
        if settings.operatorClientSecret != nil {
            rotating.append(("BIZ_OPERATOR_CLIENT_SECRET", IdentityBootstrap.operatorClientID))
        }
        for (variable, clientID) in rotating {
            context.secretRotation.on(variable) { [bootstrap, logger = context.logger] secret in
                do {
                    try await bootstrap.rotateSecret(of: clientID, to: secret.value)
                } catch {
                    logger.error(
                        "could not store a rotated client secret; the previous one stays in force",
                        metadata: ["client_id": "\(clientID)", "error": "\(error)"])
                }
            }
        }
        let rotation: [any Service] =
            settings.signingKeyRotationDays > 0
            ? [
                KeyRotationSchedule(
                    keys: keys, interval: TimeInterval(settings.signingKeyRotationDays) * 86_400,
                    logger: context.logger)
            ] : []
        return ServiceParts(
            grpcServices: [
                IdentityGRPCService(
                    issuer: issuer, directory: directory, pageTokens: PageTokens(masterKey: context.masterKey))
            ],
            background: rotation, signingKeys: { try await keys.jwks() })
    }
}
