import BizEvents
import BizMail
import BizMessaging
import BizServiceKit
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Tracing

/// Sends due deliveries, up to `concurrency` at once: claims them with a lease, makes one attempt each, and records
/// its outcome. Woken when deliveries are made or retried, and otherwise when the earliest pending one is due.
public struct DeliveryDispatcher: Service {
    var deliveries: DeliveryStore
    var webhooks: WebhookDirectory
    var sender: WebhookSender
    var mailer: EmailSender
    var concurrency: Int
    var logger: Logger
    private let recorder: AttemptRecorder
    private let metrics = ["webhook": ChannelMetrics("webhook"), "email": ChannelMetrics("email")]

    struct ChannelMetrics {
        let sent: Counter
        let failed: Counter
        let duration: Timer

        init(_ channel: String) {
            sent = Counter(label: "notifications_sent_total", dimensions: [("channel", channel)])
            failed = Counter(label: "notifications_failed_total", dimensions: [("channel", channel)])
            duration = Timer(label: "notification_attempt_duration", dimensions: [("channel", channel)])
        }
    }

    public init(
        deliveries: DeliveryStore, webhooks: WebhookDirectory, sender: WebhookSender, mailer: EmailSender,
        concurrency: Int = 64, logger: Logger
    ) {
        self.deliveries = deliveries
        self.webhooks = webhooks
        self.sender = sender
        self.mailer = mailer
        self.concurrency = concurrency
        self.logger = logger
        recorder = AttemptRecorder(store: deliveries)
    }

    /// A lease outlasts an attempt: a sender that died leaves its rows due again after it.
    var lease: Int64 { (sender.settings.timeout + 30) * 1000 }

    public func run() async throws {
        let inFlight = InFlight()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    // Every change wakes the loop: deliveries made or retried, and attempts ending.
                    let seen = deliveries.due.generation
                    let active = inFlight.count.load(ordering: .relaxed)
                    var claimed: [DeliveryRecord] = []
                    // Refilled by halves: a claim is a transaction, not one per freed slot.
                    if active <= concurrency / 2 {
                        do {
                            claimed = try await deliveries.claim(limit: concurrency - active, lease: lease)
                        } catch {
                            if Task.isCancelled { break }
                            logger.warning("could not claim deliveries", metadata: ["error": "\(error)"])
                            try? await Task.sleep(for: .seconds(1))
                            continue
                        }
                    }
                    let targets = await self.targets(of: claimed)
                    for delivery in claimed {
                        let target = target(of: delivery, webhooks: targets)
                        inFlight.count.add(1, ordering: .relaxed)
                        group.addTask {
                            await attempt(delivery, to: target)
                            inFlight.count.subtract(1, ordering: .relaxed)
                            deliveries.due.signal()
                        }
                    }
                    // All it asked for: there may be more.
                    if !claimed.isEmpty && claimed.count == concurrency - active { continue }
                    let idle = inFlight.count.load(ordering: .relaxed) == 0
                    await deliveries.due.wait(after: seen, timeout: idle ? await untilNextDue() : .seconds(1))
                }
            }
        } onGracefulShutdown: {
            deliveries.due.signal()
        }
    }

    /// The attempts under way.
    final class InFlight: Sendable {
        let count = Atomic<Int>(0)
    }

    /// How long to sleep with nothing to send: until the earliest pending delivery is due, at most a second (so
    /// another replica's work and the clock are seen), at least 10 ms.
    private func untilNextDue() async -> Duration {
        guard let due = try? await deliveries.nextDue() else { return .seconds(1) }
        let wait = due - EventTimestamp.now().millisecondsSinceEpoch
        return .milliseconds(min(max(wait, 10), 1000))
    }

    /// Where a claimed delivery goes: a webhook with the secrets that sign for it (read once per claim), an email;
    /// or the outcome that makes sending pointless (a webhook deleted, disabled or unreadable, an unknown channel).
    enum Target: Sendable {
        case webhook(WebhookRecord, url: WebhookURL, secrets: [WebhookSecret])
        case email
        case none(AttemptOutcome)
    }

    func target(of delivery: DeliveryRecord, webhooks: [String: Target]) -> Target {
        switch delivery.channel {
        case "webhook":
            delivery.webhookID.flatMap { webhooks[$0] } ?? .none(.failed(code: 0, error: "the webhook was deleted"))
        case "email":
            .email
        default:
            .none(.failed(code: 0, error: "channel \(delivery.channel) is not served here"))
        }
    }

    func targets(of claimed: [DeliveryRecord]) async -> [String: Target] {
        var targets: [String: Target] = [:]
        guard !claimed.isEmpty else { return targets }
        let now = EventTimestamp.now().millisecondsSinceEpoch
        for delivery in claimed {
            guard delivery.channel == "webhook", let id = delivery.webhookID, targets[id] == nil else { continue }
            do {
                let webhook = try await webhooks.webhook(id, tenantID: delivery.tenantID)
                guard webhook.enabled else {
                    targets[id] = .none(.failed(code: 0, error: "the webhook is disabled"))
                    continue
                }
                let url: WebhookURL
                do {
                    url = try WebhookURL(webhook.url, policy: webhooks.policy)
                } catch {
                    targets[id] = .none(.failed(code: 0, error: "refused: \(error)"))
                    continue
                }
                targets[id] = .webhook(
                    webhook, url: url, secrets: try webhooks.signingSecrets(of: webhook, now: now))
            } catch let error as ServiceError where error == .notFound("webhook") {
                targets[id] = .none(.failed(code: 0, error: "the webhook was deleted"))
            } catch {
                targets[id] = .none(.retry(code: 0, error: "could not read the webhook: \(error)"))
            }
        }
        return targets
    }

    /// One attempt of `delivery`, recorded (retried until the database takes it: the attempt happened).
    func attempt(_ delivery: DeliveryRecord, to target: Target) async {
        let started = EventTimestamp.now().millisecondsSinceEpoch
        let clock = ContinuousClock.now
        let outcome = await withSpan("notification.deliver", ofKind: .internal) { span in
            span.attributes["notification.delivery_id"] = delivery.publicID
            span.attributes["notification.channel"] = delivery.channel
            let outcome: AttemptOutcome
            switch target {
            case .webhook(let webhook, let url, let secrets):
                outcome = await send(delivery, to: webhook, at: url, secrets: secrets, time: started)
            case .email:
                outcome = await mailer.send(delivery)
            case .none(let known):
                outcome = known
            }
            span.attributes["notification.outcome"] = outcome.name
            return outcome
        }
        let elapsed = ContinuousClock.now - clock
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        let metrics = metrics[delivery.channel]
        metrics?.duration.recordNanoseconds(nanoseconds)
        let duration = nanoseconds / 1_000_000
        do {
            try await Backoff.retrying(logger: logger, what: "record a delivery attempt") {
                try await recorder.record(
                    .init(outcome: outcome, delivery: delivery, started: started, duration: duration))
            }
        } catch {
            return  // Cancelled: the lease runs out and the attempt is made again.
        }
        switch DeliveryStore.status(after: outcome, of: delivery) {
        case .sent: metrics?.sent.increment()
        case .failed: metrics?.failed.increment()
        case .pending: break
        }
        if case .sent = outcome { return }
        logger.info(
            "delivery attempt failed",
            metadata: [
                "delivery_id": "\(delivery.publicID)", "channel": "\(delivery.channel)",
                "destination": "\(delivery.webhookID ?? delivery.recipient.map(MailMask.address) ?? "")",
                "attempt": "\(delivery.attemptCount + 1)", "outcome": "\(outcome.name)",
                "error": "\(outcome.error ?? "")",
            ])
    }

    /// Posts a webhook delivery, signed with the webhook's secrets; a 410 disables the webhook.
    func send(
        _ delivery: DeliveryRecord, to webhook: WebhookRecord, at url: WebhookURL, secrets: [WebhookSecret],
        time now: Int64
    ) async -> AttemptOutcome {
        let signature = WebhookSignature(
            id: delivery.publicID, timestamp: now / 1000, body: delivery.body, secrets: secrets)
        switch await sender.post(url, body: delivery.body, headers: signature.headers) {
        case .status(let code) where (200..<300).contains(code):
            return .sent(code: code)
        case .status(410):
            let reason = "the endpoint answered 410 Gone"
            do {
                try await webhooks.change(
                    webhook.publicID, .gone(reason: reason), tenantID: delivery.tenantID, caller: nil)
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
