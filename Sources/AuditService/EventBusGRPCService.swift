import BizEvents
import BizMessaging
import BizOutbox
import BizProtos
import Crypto
import GRPCCore
import Logging

/// Operator access to the pipeline (`bizretail.events.v1.EventBus`): publish an envelope through an outbox, list
/// dead letters.
public struct EventBusGRPCService: Bizretail_Events_V1_EventBus.SimpleServiceProtocol {
    public var outbox: Outbox
    public var deadLetters: any DeadLetterStore
    public var registry: EventTypeRegistry
    public var logger: Logger

    public init(
        outbox: Outbox, deadLetters: any DeadLetterStore, registry: EventTypeRegistry = .standard, logger: Logger
    ) {
        self.outbox = outbox
        self.deadLetters = deadLetters
        self.registry = registry
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
        try await outbox.perform { _ in ((), [envelope]) }
        return .with { $0.eventID = envelope.eventID }
    }

    public func listDeadLetters(
        request: Bizretail_Events_V1_ListDeadLettersRequest, context: ServerContext
    ) async throws -> Bizretail_Events_V1_ListDeadLettersResponse {
        let pageSize = try Pagination().size(request.pageSize)
        let before = try Pagination.position(of: request.pageToken)
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
                response.nextPageToken = Pagination.token(after: last.id)
            }
        }
    }
}
