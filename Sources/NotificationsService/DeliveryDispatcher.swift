import BizEvents
import BizMessaging
import BizServiceKit
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Tracing

/// Sends due deliveries, up to `concurrency` at once: claims them with a lease, makes one attempt each, and records
/// its outcome. Woken when deliveries are made or retried, and otherwise when the earliest pending one is due.
public struct DeliveryDispatcher: Service {
    var deliveries: DeliveryStore
    var webhooks: WebhookDirectory
    var sender: WebhookSender
    var concurrency: Int
    var logger: Logger
    private let sentCounter = Counter(label: "notifications_sent_total", dimensions: [("channel", "webhook")])
    private let failedCounter = Counter(label: "notifications_failed_total", dimensions: [("channel", "webhook")])
    private let attemptTimer = Timer(label: "notification_attempt_duration", dimensions: [("channel", "webhook")])

    init(
        deliveries: DeliveryStore, webhooks: WebhookDirectory, sender: WebhookSender, concurrency: Int = 64,
        logger: Logger
    ) {
        self.deliveries = deliveries
        self.webhooks = webhooks
        self.sender = sender
        self.concurrency = concurrency
        self.logger = logger
    }

    /// A lease outlasts an attempt: a sender that died leaves its rows due again after it.
    var lease: Int64 { (sender.settings.timeout + 30) * 1000 }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var inFlight = 0
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let seen = deliveries.due.generation
                    var claimed: [DeliveryRecord] = []
                    if inFlight < concurrency {
                        do {
                            claimed = try await deliveries.claim(limit: concurrency - inFlight, lease: lease)
                        } catch {
                            if Task.isCancelled { break }
                            logger.warning("could not claim deliveries", metadata: ["error": "\(error)"])
                            try? await Task.sleep(for: .seconds(1))
                            continue
                        }
                    }
                    for delivery in claimed {
                        group.addTask { await attempt(delivery) }
                        inFlight += 1
                    }
                    if !claimed.isEmpty && inFlight < concurrency { continue }
                    if inFlight > 0 {
                        // A slot frees up, or more work comes (taken on the next turn).
                        await group.next()
                        inFlight -= 1
                        continue
                    }
                    await deliveries.due.wait(after: seen, timeout: await untilNextDue())
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            deliveries.due.signal()
        }
    }

    /// How long to sleep with nothing to send: until the earliest pending delivery is due, at most a second (so
    /// another replica's work and the clock are seen), at least 10 ms.
    private func untilNextDue() async -> Duration {
        guard let due = try? await deliveries.nextDue() else { return .seconds(1) }
        let wait = due - EventTimestamp.now().millisecondsSinceEpoch
        return .milliseconds(min(max(wait, 10), 1000))
    }

    /// One attempt of `delivery`, recorded (retried until the database takes it: the attempt happened).
    func attempt(_ delivery: DeliveryRecord) async {
        let started = EventTimestamp.now().millisecondsSinceEpoch
        let clock = ContinuousClock.now
        let outcome = await withSpan("notification.deliver", ofKind: .internal) { span in
            span.attributes["notification.delivery_id"] = delivery.publicID
            span.attributes["notification.channel"] = delivery.channel
            let outcome = await send(delivery, at: started)
            span.attributes["notification.outcome"] = outcome.name
            return outcome
        }
        let elapsed = ContinuousClock.now - clock
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        attemptTimer.recordNanoseconds(nanoseconds)
        let duration = nanoseconds / 1_000_000
        do {
            try await Backoff.retrying(logger: logger, what: "record a delivery attempt") {
                try await deliveries.record(outcome, of: delivery, started: started, duration: duration)
            }
        } catch {
            return  // Cancelled: the lease runs out and the attempt is made again.
        }
        switch outcome {
        case .sent: sentCounter.increment()
        case .failed: failedCounter.increment()
        case .retry where delivery.attemptCount + 1 >= delivery.attemptLimit: failedCounter.increment()
        case .retry: break
        }
        if case .sent = outcome { return }
        logger.info(
            "webhook delivery attempt failed",
            metadata: [
                "delivery_id": "\(delivery.publicID)", "webhook_id": "\(delivery.webhookID ?? "")",
                "attempt": "\(delivery.attemptCount + 1)", "outcome": "\(outcome.name)",
                "error": "\(outcome.error ?? "")",
            ])
    }

    /// Posts a webhook delivery, signed with the webhook's secrets; a 410 disables the webhook.
    func send(_ delivery: DeliveryRecord, at now: Int64) async -> AttemptOutcome {
        guard let webhookID = delivery.webhookID else {
            return .failed(code: 0, error: "channel \(delivery.channel) is not served here")
        }
        let webhook: WebhookRecord
        let secrets: [WebhookSecret]
        do {
            webhook = try await webhooks.webhook(webhookID, tenantID: delivery.tenantID)
            secrets = try webhooks.signingSecrets(of: webhook, now: now)
        } catch let error as ServiceError where error == .notFound("webhook") {
            return .failed(code: 0, error: "the webhook was deleted")
        } catch {
            return .retry(code: 0, error: "could not read the webhook: \(error)")
        }
        guard webhook.enabled else { return .failed(code: 0, error: "the webhook is disabled") }
        let url: WebhookURL
        do {
            url = try WebhookURL(webhook.url, policy: webhooks.policy)
        } catch {
            return .failed(code: 0, error: "refused: \(error)")
        }
        let signature = WebhookSignature(
            id: delivery.publicID, timestamp: now / 1000, body: delivery.body, secrets: secrets)
        switch await sender.post(url, body: delivery.body, headers: signature.headers) {
        case .status(let code) where (200..<300).contains(code):
            return .sent(code: code)
        case .status(410):
            let reason = "the endpoint answered 410 Gone"
            do {
                try await webhooks.change(webhookID, .gone(reason: reason), tenantID: delivery.tenantID, caller: nil)
            } catch {
                logger.warning("could not disable a gone webhook", metadata: ["error": "\(error)"])
            }
            return .failed(code: 410, error: reason + ": the webhook is disabled")
        case .status(let code):
            return .retry(code: code, error: "the endpoint answered \(code)")
        case .refused(let reason):
            return .failed(code: 0, error: "refused: " + reason)
        case .unreachable(let reason):
            return .retry(code: 0, error: reason)
        }
    }
}
