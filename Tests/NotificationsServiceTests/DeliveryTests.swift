import BizAuth
import BizEvents
import BizMail
import BizMessaging
import BizServiceKit
import BizStorage
import BizTesting
import Foundation
import Hummingbird
import Logging
import Testing

@testable import BizOutbox
@testable import NotificationsService

/// The delivery pipeline over a temporary database (SQLite, and PostgreSQL when the tests have one): events become
/// deliveries once, the dispatcher posts them to a real local HTTP receiver, and every outcome is recorded.
@Suite("Webhook deliveries")
struct DeliveryTests {
    static func admin(of tenant: String) -> Caller {
        Caller(
            principal: Principal(
                subject: "admin-1", tenantID: tenant, roles: ["admin"], scopes: [], ownerType: "user", tokenID: "t1"),
            clientIP: "203.0.113.7", traceID: "4bf92f3577b34da6a3ce929d0e0e4736")
    }
    static let north = admin(of: EventID.generate())
    static let south = admin(of: EventID.generate())
    static let logger = Logger(label: "test.notifications")

    struct Pipeline {
        var webhooks: WebhookDirectory
        var rules: RuleDirectory
        var deliveries: DeliveryStore
        var consumer: NotificationsConsumer
        var dispatcher: DeliveryDispatcher
        var outbox: Outbox
    }

    func withPipeline<T>(
        _ kind: StoreKind, allow: String = "127.0.0.1", attempts: Int = 3, smtp: SMTPClient? = nil,
        _ body: (Pipeline) async throws -> T
    ) async throws -> T {
        try await TestDatabases.withStore(kind, migrations: NotificationsModule.migrations) { store in
            let outbox = Outbox(store: store)
            let events = EventFactory(
                producerService: "notifications_service", producerServiceID: EventID.generate(), environment: "test",
                serviceOwnerID: ServiceAccount.publicID(of: "notifications"))
            let policy = try DestinationPolicy(allowList: allow)
            let webhooks = WebhookDirectory(
                outbox: outbox, events: events, masterKey: MasterKey.generate(), policy: policy)
            let deliveries = DeliveryStore(
                outbox: outbox, events: events,
                schedule: RetrySchedule(attempts: attempts, baseDelay: 1, maximumDelay: 5))
            let sender = try WebhookSender(settings: .init(policy: policy, timeout: 5))
            defer { Task { await sender.shutdown() } }
            let rules = RuleDirectory(outbox: outbox, events: events)
            let mailer = EmailSender(client: smtp, from: Mailbox("no-reply@biz-retail.test", name: "Biz Retail"))
            return try await body(
                Pipeline(
                    webhooks: webhooks, rules: rules, deliveries: deliveries,
                    consumer: NotificationsConsumer(
                        webhooks: webhooks, rules: rules, deliveries: deliveries, logger: Self.logger),
                    dispatcher: DeliveryDispatcher(
                        deliveries: deliveries, webhooks: webhooks, sender: sender, mailer: mailer,
                        logger: Self.logger),
                    outbox: outbox))
        }
    }

    static func event(_ type: String, tenant: String, id: String = EventID.generate()) -> EventEnvelope {
        EventEnvelope(
            eventID: id, producerService: "team_service", producerServiceID: EventID.generate(),
            traceID: "4bf92f3577b34da6a3ce929d0e0e4736", eventType: EventType(type)!,
            payload: ["public_id": .string(EventID.generate()), "tenant_id": .string(tenant), "name": "Ana"],
            metadata: EventMetadata(
                ownerID: "admin-1", ownerIP: "203.0.113.7", ownerRole: "admin", ownerType: .user,
                ownershipID: EventID.generate(), environment: "test", tenantID: tenant))
    }

    @Test("event types: exact, entity.*, *; notification events never match and may not be named")
    func patterns() throws {
        #expect(try EventPattern("account.created").matches("account.created"))
        #expect(try !EventPattern("account.created").matches("account.updated"))
        #expect(try EventPattern("account.*").matches("account.disabled"))
        #expect(try !EventPattern("account.*").matches("accounts.created"))
        #expect(try EventPattern("*").matches("team.created"))
        #expect(try !EventPattern("*").matches("notification.sent"))
        #expect(try !EventPattern("*").matches("webhook.created"))
        #expect(try EventPattern("webhook.*").matches("webhook.created"))
        #expect(throws: ServiceError.self) { try EventPattern("account") }
        #expect(throws: ServiceError.self) { try EventPattern("Account.Created!") }
        #expect(throws: ServiceError.self) { try EventPattern("notification.failed") }
        #expect(throws: ServiceError.self) { try EventPattern.list([]) }
    }

    @Test("a URL: https, or http to an allowed host; never credentials, nor a loopback or private address")
    func urls() async throws {
        let none = DestinationPolicy()
        let local = try DestinationPolicy(allowList: "127.0.0.1")
        #expect(throws: ServiceError.unprocessable(field: "url", problem: "must be https")) {
            try WebhookURL("http://example.com/hook", policy: none)
        }
        #expect(throws: ServiceError.self) { try WebhookURL("https://user:pass@example.com/hook", policy: none) }
        #expect(throws: ServiceError.self) { try WebhookURL("ftp://example.com/hook", policy: none) }
        #expect(throws: ServiceError.self) { try WebhookURL("not a url", policy: none) }
        // Outside the API's schema (empty) is 400; a string it allows but no URL (blank) is 422.
        #expect(throws: ServiceError.invalidArgument(field: "url", problem: "is required")) {
            try WebhookURL("", policy: none)
        }
        #expect(throws: ServiceError.unprocessable(field: "url", problem: "must be an absolute http(s) URL")) {
            try WebhookURL("  ", policy: none)
        }
        #expect(try WebhookURL("http://127.0.0.1:9/hook", policy: local).port == 9)
        for refused in ["https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/hook", "https://10.1.2.3/"] {
            await #expect(throws: DestinationRefusal.forbidden, "\(refused)") {
                try await WebhookURL(refused, policy: none).checkedAddresses(policy: none)
            }
        }
        #expect(try await WebhookURL("https://127.0.0.1/", policy: local).checkedAddresses(policy: local).count == 1)
        #expect(try await WebhookURL("https://8.8.8.8/", policy: none).checkedAddresses(policy: none).count == 1)
    }

    @Test(
        "an event makes one delivery per matching webhook of its tenant (if newer), however often it is consumed",
        arguments: StoreKind.available)
    func deliveriesOnce(_ kind: StoreKind) async throws {
        try await withPipeline(kind) { pipeline in
            let (all, _) = try await pipeline.webhooks.create(
                url: "https://127.0.0.1/all", eventTypes: ["*"], enabled: true, caller: Self.north)
            let (accounts, _) = try await pipeline.webhooks.create(
                url: "https://127.0.0.1/accounts", eventTypes: ["account.*"], enabled: true, caller: Self.north)
            _ = try await pipeline.webhooks.create(
                url: "https://127.0.0.1/off", eventTypes: ["*"], enabled: false, caller: Self.north)
            _ = try await pipeline.webhooks.create(
                url: "https://127.0.0.1/south", eventTypes: ["*"], enabled: true, caller: Self.south)
            let tenant = Self.north.principal.tenantID
            let created = Self.event("account.created", tenant: tenant)
            let team = Self.event("team.created", tenant: tenant)
            let own = Self.event("notification.sent", tenant: tenant)
            // An event from before the webhooks existed (a redelivery of the past) is not theirs.
            var past = Self.event("account.created", tenant: tenant)
            past.timestamp = EventTimestamp(millisecondsSinceEpoch: past.timestamp.millisecondsSinceEpoch - 3_600_000)
            for _ in 0..<2 {
                try await pipeline.consumer.handle(
                    [created, team, own, past].enumerated().map { offset, event in
                        DeliveredMessage(
                            offset: Int64(offset), key: event.entityID, eventID: event.eventID,
                            eventType: event.eventType.description, body: event.encoded())
                    })
            }
            let made = try await pipeline.deliveries.deliveries(
                tenantID: tenant, filter: .init(), before: nil, limit: 100)
            #expect(made.count == 3)
            #expect(
                Set(made.filter { $0.eventID == created.eventID }.compactMap(\.webhookID)) == [
                    all.publicID, accounts.publicID,
                ])
            #expect(made.filter { $0.eventID == team.eventID }.map(\.webhookID) == [all.publicID])
            #expect(made.allSatisfy { $0.status == .pending && $0.attemptCount == 0 })
            let body = try JSONParser.parse(Array(made.first { $0.eventID == team.eventID }!.body))
            #expect(body["type"] == "team.created")
            #expect(body["data"]?["name"] == "Ana")
            #expect(body["event_id"] == .string(team.eventID))
        }
    }

    /// A local receiver answering each request with the next of `answers` (then 200), recording what it got.
    actor Receiver {
        struct Received: Sendable {
            var headers: [String: String]
            var body: Data
        }
        var answers: [Int]
        var received: [Received] = []
        init(answers: [Int]) { self.answers = answers }
        func take(_ request: Received) -> Int {
            received.append(request)
            return answers.isEmpty ? 200 : answers.removeFirst()
        }
        func answer(_ statuses: [Int]) { answers = statuses }
    }

    func withReceiver<T>(_ receiver: Receiver, _ body: (Int) async throws -> T) async throws -> T {
        let port = try freePort()
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let status = await receiver.take(.init(headers: headers, body: Data(buffer: bytes)))
            return Response(status: .init(code: status))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            logger: Logger(label: "test.receiver") { _ in SwiftLogNoOpLogHandler() })
        let task = Task { try await app.runService() }
        defer { task.cancel() }
        for _ in 0..<100 {
            if (try? await runProgram("/usr/bin/env", ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"]))?.status
                == 0
            {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await body(port)
    }

    /// Runs the dispatcher until `done` holds (at most 10 s).
    func dispatch(_ pipeline: Pipeline, until done: @Sendable () async throws -> Bool) async throws {
        let task = Task { try await pipeline.dispatcher.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await done() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the dispatcher did not get there within 10 s")
    }

    func outboxTypes(_ outbox: Outbox) async throws -> [String] {
        try await outbox.pending(limit: 1000).map(\.message.eventType)
    }

    @Test(
        "posted signed; 500s until the limit, then failed; a manual retry sends it; 410 disables the webhook",
        arguments: StoreKind.available)
    func dispatching(_ kind: StoreKind) async throws {
        let receiver = Receiver(answers: [])
        try await withReceiver(receiver) { port in
            try await withPipeline(kind, attempts: 3) { pipeline in
                let tenant = Self.north.principal.tenantID
                let (webhook, secret) = try await pipeline.webhooks.create(
                    url: "http://127.0.0.1:\(port)/hook", eventTypes: ["account.*"], enabled: true,
                    caller: Self.north)
                let deliveries = pipeline.deliveries
                func consume(_ event: EventEnvelope) async throws {
                    try await pipeline.consumer.handle([
                        DeliveredMessage(
                            offset: 0, key: event.entityID, eventID: event.eventID,
                            eventType: event.eventType.description, body: event.encoded())
                    ])
                }
                @Sendable func status(of event: EventEnvelope) async throws -> DeliveryRecord? {
                    try await deliveries.deliveries(
                        tenantID: tenant, filter: .init(eventID: event.eventID), before: nil, limit: 1
                    ).first
                }

                // Sent at once, signed with the webhook's secret (Standard Webhooks).
                let first = Self.event("account.created", tenant: tenant)
                try await consume(first)
                try await dispatch(pipeline) { try await status(of: first)?.status == .sent }
                let got = try #require(await receiver.received.first)
                let record = try #require(try await status(of: first))
                #expect(got.headers["webhook-id"] == record.publicID)
                #expect(got.headers["content-type"] == "application/json")
                let timestamp = try #require(got.headers["webhook-timestamp"].flatMap { Int64($0) })
                #expect(
                    WebhookSignature.verify(
                        id: record.publicID, timestamp: timestamp, signatures: got.headers["webhook-signature"] ?? "",
                        body: got.body, secret: secret, now: Int64(Date().timeIntervalSince1970)))
                #expect(got.body == record.body)

                // 500 three times: failed after the limit, each attempt recorded.
                await receiver.answer([500, 500, 500])
                let second = Self.event("account.updated", tenant: tenant)
                try await consume(second)
                try await dispatch(pipeline) { try await status(of: second)?.status == .failed }
                let failed = try await deliveries.delivery(
                    try #require(try await status(of: second)).publicID, tenantID: tenant)
                #expect(failed.1.map(\.responseCode) == [500, 500, 500])
                #expect(failed.1.map(\.outcome) == ["retry", "retry", "retry"])
                #expect(failed.0.lastError?.contains("gave up after 3 attempts") == true)

                // A manual retry, the receiver back: sent, with the earlier attempts kept.
                let retried = try await deliveries.retry(failed.0.publicID, tenantID: tenant)
                #expect(retried.0.status == .pending)
                try await dispatch(pipeline) { try await status(of: second)?.status == .sent }
                #expect(try await deliveries.delivery(failed.0.publicID, tenantID: tenant).1.count == 4)
                await #expect(throws: ServiceError.self) {
                    try await deliveries.retry(failed.0.publicID, tenantID: tenant)
                }

                // 410 Gone: failed at once, and the webhook disabled with the reason.
                await receiver.answer([410])
                let third = Self.event("account.deleted", tenant: tenant)
                try await consume(third)
                try await dispatch(pipeline) { try await status(of: third)?.status == .failed }
                let gone = try await pipeline.webhooks.webhook(webhook.publicID, tenantID: tenant)
                #expect(!gone.enabled)
                #expect(gone.disabledReason?.contains("410") == true)
                // A disabled webhook makes no further deliveries.
                let fourth = Self.event("account.created", tenant: tenant)
                try await consume(fourth)
                #expect(try await status(of: fourth) == nil)

                let types = try await outboxTypes(pipeline.outbox)
                #expect(types.filter { $0 == "notification.sent" }.count == 2)
                #expect(types.filter { $0 == "notification.failed" }.count == 2)
                #expect(types.contains("webhook.disabled"))
                #expect(await receiver.received.count == 6)
            }
        }
    }

    @Test(
        "after a rotation both secrets sign, for a day; a URL refused at send time fails without a request",
        arguments: StoreKind.available)
    func rotationAndSendTimeRefusal(_ kind: StoreKind) async throws {
        let receiver = Receiver(answers: [])
        try await withReceiver(receiver) { port in
            try await withPipeline(kind) { pipeline in
                let tenant = Self.north.principal.tenantID
                let (webhook, old) = try await pipeline.webhooks.create(
                    url: "https://127.0.0.1:\(port)/hook", eventTypes: ["*"], enabled: true, caller: Self.north)
                let (rotated, new) = try await pipeline.webhooks.change(
                    webhook.publicID, .rotateSecret, tenantID: tenant, caller: Self.north)
                let now = EventTimestamp.now().millisecondsSinceEpoch
                #expect(try pipeline.webhooks.signingSecrets(of: rotated, now: now) == [new!, old])
                #expect(
                    try pipeline.webhooks.signingSecrets(of: rotated, now: now + WebhookDirectory.rotationGrace)
                        == [new!])

                // The same webhook under a policy without the allow-list (as after a restart): refused, not sent.
                var strict = pipeline
                strict.webhooks.policy = DestinationPolicy()
                let sender = try WebhookSender(settings: .init(policy: DestinationPolicy(), timeout: 5))
                strict.dispatcher = DeliveryDispatcher(
                    deliveries: pipeline.deliveries, webhooks: strict.webhooks, sender: sender,
                    mailer: pipeline.dispatcher.mailer, logger: Self.logger)
                let event = Self.event("team.created", tenant: tenant)
                try await strict.consumer.handle([
                    DeliveredMessage(
                        offset: 0, key: event.entityID, eventID: event.eventID, eventType: "team.created",
                        body: event.encoded())
                ])
                try await dispatch(strict) {
                    try await pipeline.deliveries.deliveries(
                        tenantID: tenant, filter: .init(status: .failed), before: nil, limit: 1
                    ).count == 1
                }
                await sender.shutdown()
                let failed = try await pipeline.deliveries.deliveries(
                    tenantID: tenant, filter: .init(status: .failed), before: nil, limit: 1)
                #expect(
                    failed.first?.lastError
                        == "refused: the URL resolves to a loopback, private or reserved address, which webhooks may not call"
                )
                #expect(await receiver.received.isEmpty)
            }
        }
    }
}
