import BizAWS
import BizAuth
import BizEvents
import BizOutbox
import BizProtos
import BizServiceKit
import BizStorage
import GRPCCore

/// The Audit service's entry point: consumes the event log into the audit store (SQLite, PostgreSQL or DynamoDB),
/// serves the trail over gRPC, and takes operator-published events through its own outbox.
public enum AuditModule: ServiceModule {
    public static let name = "audit"
    public static let producerService = "audit_service"
    /// Its own database holds the trail (unless `BIZ_AUDIT_STORE` names another store) and the outbox of
    /// operator-published events.
    public static let migrations = SQLAuditStore.migrations + Outbox.migrations
    /// It stores the others' events; what operators publish keeps its own `event_type`.
    public static let producedEvents: [EventType] = [FeatureFlagEvents.changed]
    /// Admins only. The trail is sealed per tenant (a tenant's admins read their own tenant's part, see
    /// ``AuditGRPCService``); the event bus spans every tenant: platform administrators only.
    public static let access = AccessRules(
        requiredRoles: [
            Bizretail_Audit_V1_AuditService.descriptor.fullyQualifiedService: ["admin"],
            Bizretail_Events_V1_EventBus.descriptor.fullyQualifiedService: ["admin"],
        ],
        platformOnly: [Bizretail_Events_V1_EventBus.descriptor.fullyQualifiedService])
    public static let probe = Bizretail_Audit_V1_AuditService.Method.ListEvents.descriptor

    public static func assemble(_ context: ServiceContext) async throws -> ServiceParts {
        let store = try await openStore(context)
        let pageTokens = PageTokens(masterKey: context.masterKey)
        FeatureFlagEvents(context).record()
        return ServiceParts(
            grpcServices: [
                AuditGRPCService(store: store, pageTokens: pageTokens),
                EventBusGRPCService(
                    outbox: context.outbox, deadLetters: context.deadLetters,
                    instanceID: context.events.producerServiceID, pageTokens: pageTokens, logger: context.logger),
            ],
            subscriptions: [
                EventSubscription(
                    consumer: AuditConsumer(store: store, deadLetters: context.deadLetters, logger: context.logger))
            ])
    }

    /// `BIZ_AUDIT_STORE` when set (`dynamodb://…`, `postgres://…`, `sqlite://…`), else the service's own database.
    static func openStore(_ context: ServiceContext) async throws -> any AuditStore {
        let settings = context.configuration.audit
        guard let url = settings.store?.value else { return SQLAuditStore(store: context.database) }
        if url.hasPrefix("dynamodb://") {
            let credentials = settings.awsAccessKeyID.flatMap { id in
                settings.awsSecretAccessKey.map {
                    AWSCredentials(
                        accessKeyID: id, secretAccessKey: $0.value, sessionToken: settings.awsSessionToken?.value)
                }
            }
            let store = try await DynamoDBAuditStore.open(url: url, credentials: credentials)
            context.onShutdown { try? await store.close() }
            return store
        }
        return SQLAuditStore(store: try await context.openDatabase(url, SQLAuditStore.migrations, "BIZ_AUDIT_STORE"))
    }
}
