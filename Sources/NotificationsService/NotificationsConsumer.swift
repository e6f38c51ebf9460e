import BizAuth
import BizEvents
import BizMessaging
import Foundation
import Logging

/// Turns events into deliveries: every enabled webhook of the event's tenant whose types match, and that existed when
/// the event happened (a new subscription is not sent the past a redelivery brings back), gets one. Making them
/// is idempotent (one per event and webhook), so a redelivered batch makes nothing twice; the batch is committed
/// only once its deliveries are written. Events that fail validation are the Audit service's to dead-letter: here
/// they cause nothing. Notifications' own events never cause deliveries.
public struct NotificationsConsumer: EventConsumer {
    public let name: String
    var webhooks: WebhookDirectory
    var deliveries: DeliveryStore
    var logger: Logger

    public init(
        name: String = "notifications", webhooks: WebhookDirectory, deliveries: DeliveryStore, logger: Logger
    ) {
        self.name = name
        self.webhooks = webhooks
        self.deliveries = deliveries
        self.logger = logger
    }

    public func prepare(_ batch: [DeliveredMessage]) async -> [EventEnvelope] {
        batch.compactMap { message in
            guard !message.eventType.hasPrefix(NotificationsEvents.entity + ".") else { return nil }
            return try? EventEnvelope.decode(message.body)
        }
    }

    public func apply(_ events: [EventEnvelope]) async throws {
        guard !events.isEmpty else { return }
        let tenants = Set(events.map { Self.tenant(of: $0) })
        let made = try await deliveries.store.transaction { database in
            let subscribers = Dictionary(
                grouping: try await webhooks.subscribers(tenants: tenants, on: database), by: \.tenantID)
            var new: [NewDelivery] = []
            for event in events {
                for webhook in subscribers[Self.tenant(of: event)] ?? []
                where webhook.matches(event.eventType.description) && webhook.createdBefore(event) {
                    new.append(
                        NewDelivery(
                            tenantID: webhook.tenantID, dedupeKey: "\(event.eventID)/webhook/\(webhook.publicID)",
                            channel: "webhook", webhookID: webhook.publicID, eventID: event.eventID,
                            eventType: event.eventType.description, ownershipID: event.metadata.ownershipID,
                            body: Self.webhookBody(event)))
                }
            }
            return try await deliveries.enqueue(new, on: database)
        }
        if made > 0 {
            deliveries.due.signal()
            logger.debug("deliveries made", metadata: ["count": "\(made)"])
        }
    }

    /// The tenant whose webhooks see an event: its own, and the platform's for events of no tenant.
    static func tenant(of event: EventEnvelope) -> String {
        event.tenantID.isEmpty ? AuthInterceptor.platformTenant : event.tenantID
    }

    /// What a webhook receives (Standard Webhooks' shape): `type`, `timestamp` (the event's), `data` (the entity's
    /// state after the change), and the event's id and tenant.
    public static func webhookBody(_ event: EventEnvelope) -> Data {
        let body: JSONValue = [
            "type": .string(event.eventType.description), "timestamp": .string(event.timestamp.rfc3339),
            "event_id": .string(event.eventID), "tenant_id": .string(tenant(of: event)),
            "data": .object(event.payload),
        ]
        return Data(body.canonicalBytes())
    }
}
