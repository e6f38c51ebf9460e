import BizAuth
import BizEvents
import BizMessaging
import BizOutbox
import BizProtos
import Crypto
import GRPCCore
import Logging

/// Operator access to the pipeline (`bizretail.events.v1.EventBus`): publish an envelope through an outbox, list
/// dead letters.
///
/// A published event is attributed to whoever published it, so publishing can never forge who did what: `owner_*`
/// come from the verified caller, and `producer_service` is `operator` (no service's name) with this Audit instance
/// as `producer_service_id`, so it never passes for a service's own event. What the envelope claimed for those
/// fields is kept, as sent, under `metadata.operator_claimed`. `timestamp` stays as sent (importing history is what
/// publishing is for), marked by the same `producer_service`.
public struct EventBusGRPCService: Bizretail_Events_V1_EventBus.SimpleServiceProtocol {
    public var outbox: Outbox
    public var deadLetters: any DeadLetterStore
    public var registry: EventTypeRegistry
    /// This Audit instance (`producer_service_id` of what operators publish).
    public var instanceID: String
    public var pageTokens: PageTokens
    public var logger: Logger

    /// `producer_service` of every operator-published event.
    public static let operatorProducer = "operator"

    public init(
        outbox: Outbox, deadLetters: any DeadLetterStore, registry: EventTypeRegistry = .standard, instanceID: String,
        pageTokens: PageTokens, logger: Logger
    ) {
        self.outbox = outbox
        self.deadLetters = deadLetters
        self.registry = registry
        self.instanceID = instanceID
        self.pageTokens = pageTokens
        self.logger = logger
    }

    public func publish(
        request: Bizretail_Events_V1_PublishRequest, context: ServerContext
    ) async throws -> Bizretail_Events_V1_PublishResponse {
        let body = Array(request.envelopeJson)
        let envelope: EventEnvelope
        do {
            envelope = try EventEnvelope.decode(
                body, options: .init(registry: registry, assignsMissingEventID: true)
            )
        } catch {
            try await deadLetters.store([
                DeadLetter(
                    // The body's digest identifies it, so publishing the same bad file twice stores it once.
                    source: "publish", sourceReference: "sha256:" + SHA256.hash(data: body).hexString,
                    reason: error.description, body: body,
                    receivedAt: EventTimestamp.now().rfc3339
                )
            ])
            logger.warning("published event refused", metadata: ["reason": "\(error.description)"])
            throw AuditError.invalidEvent(error.description)
        }
        let attributed = Self.attributed(envelope, to: try Caller.require(), instanceID: instanceID)
        try await outbox.perform { _ in ((), [attributed]) }
        return .with { $0.eventID = attributed.eventID }
    }

    /// `envelope` with its producer and owner replaced by the publishing operator's, the claimed ones kept.
    static func attributed(_ envelope: EventEnvelope, to caller: Caller, instanceID: String) -> EventEnvelope {
        var event = envelope
        let metadata = envelope.metadata
        event.metadata.extra["operator_claimed"] = .object([
            "producer_service": .string(envelope.producerService),
            "producer_service_id": .string(envelope.producerServiceID),
            "owner_id": .string(metadata.ownerID),
            "owner_ip": .string(metadata.ownerIP), "owner_role": .string(metadata.ownerRole),
            "owner_type": .string(metadata.ownerType.rawValue),
        ])
        event.producerService = operatorProducer
        event.producerServiceID = instanceID
        event.metadata.ownerID = caller.principal.subject
        event.metadata.ownerIP = caller.clientIP
        event.metadata.ownerRole = caller.principal.primaryRole
        event.metadata.ownerType = caller.principal.ownerType == "service" ? .service : .user
        return event
    }

    public func listDeadLetters(
        request: Bizretail_Events_V1_ListDeadLettersRequest, context: ServerContext
    ) async throws -> Bizretail_Events_V1_ListDeadLettersResponse {
        let pageSize = try Pagination().size(request.pageSize)
        let before = try pageTokens.position(of: request.pageToken)
        let letters: [DeadLetter]
        do {
            letters = try await deadLetters.list(limit: pageSize + 1, before: before)
        } catch let error as DeadLetterListingUnsupported {
            throw AuditError.unsupported(error.description)
        }
        return .with { response in
            response.deadLetters = letters.prefix(pageSize).map { letter in
                .with {
                    $0.id = letter.id
                    $0.source = letter.source
                    $0.reason = letter.reason
                    $0.receivedAt = .init(
                        EventTimestamp(rfc3339: letter.receivedAt) ?? .init(millisecondsSinceEpoch: 0))
                    $0.body = .init(letter.body)
                }
            }
            if letters.count > pageSize, let last = letters.prefix(pageSize).last {
                response.nextPageToken = pageTokens.token(after: last.id)
            }
        }
    }
}
