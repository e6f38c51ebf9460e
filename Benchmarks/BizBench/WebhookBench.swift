import AsyncHTTPClient
import BizAuth
import BizEvents
import BizMessaging
import BizOutbox
import BizStorage
import BizTelemetry
import BizTesting
import Foundation
import Hummingbird
import Logging
import NIOCore
import NotificationsService
import Synchronization

/// Webhook deliveries per second, from events on the durable bus to a local receiver (Hummingbird on loopback
/// HTTP, in this process): the Notifications consumer makes the deliveries, the dispatcher signs, posts and records
/// each. The baseline, in the same run and against the same receiver, is a bare AsyncHTTPClient loop posting the same
/// bodies with the same headers at the same concurrency (64).
func webhookBench(_ arguments: ArraySlice<String>) async throws {
    var count = 5_000
    var directory = NSTemporaryDirectory() + "biz-bench-webhooks"
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--deliveries": count = Int(iterator.next() ?? "") ?? count
        case "--dir": directory = iterator.next() ?? directory
        default: throw BenchError("unknown option \(argument)")
        }
    }
    directory = try freshDirectory(directory)
    let logger = Logger(label: "biz-bench") { _ in SwiftLogNoOpLogHandler() }
    let received = Counter()
    let router = Router()
    router.post("/hook") { request, _ -> HTTPResponse.Status in
        _ = try await request.body.collect(upTo: 1 << 20)
        received.value.add(1, ordering: .relaxed)
        return .ok
    }
    let port = try freePort()
    let receiver = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    let receiving = Task { try await receiver.runService() }
    defer { receiving.cancel() }
    try await Task.sleep(for: .milliseconds(300))
    let url = "http://127.0.0.1:\(port)/hook"
    print("webhook-deliveries: \(count) events, one webhook, receiver at \(url)")

    // The events, and the body each delivery carries.
    let tenant = EventID.generate()
    let events = benchAccountEvents(count, type: "account.updated", tenant: tenant)

    // Baseline: a bare AsyncHTTPClient loop, 64 at once.
    let secret = WebhookSecret.generate()
    let bodies = events.map { Data(NotificationsConsumer.webhookBody($0)) }
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    let concurrency = 64
    let bareSeconds = try await measure {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for index in stride(from: worker, to: bodies.count, by: concurrency) {
                        let id = EventID.generate()
                        let signature = WebhookSignature(
                            id: id, timestamp: Int64(Date().timeIntervalSince1970), body: bodies[index],
                            secrets: [secret])
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        for (name, value) in signature.headers { request.headers.add(name: name, value: value) }
                        request.body = .bytes(ByteBuffer(bytes: bodies[index]))
                        let response = try await client.execute(request, timeout: .seconds(10))
                        for try await _ in response.body {}
                        guard response.status == .ok else { throw BenchError("receiver answered \(response.status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    try await client.shutdown()
    let bareRate = Double(count) / bareSeconds
    print(String(format: "  bare AsyncHTTPClient:   %8.0f posts/s       (%.2f s)  <- baseline", bareRate, bareSeconds))

    // The service: events on the bus → consumer → deliveries → dispatcher → receiver.
    let (bus, busStore, store, outbox, factory) = try await notificationsBench(events, directory: directory)
    let policy = try DestinationPolicy(allowList: "127.0.0.1")
    let webhooks = WebhookDirectory(outbox: outbox, events: factory, masterKey: .generate(), policy: policy)
    let deliveries = DeliveryStore(outbox: outbox, events: factory, schedule: RetrySchedule())
    let admin = Caller(
        principal: Principal(
            subject: "admin-1", tenantID: tenant, roles: ["admin"], scopes: [], ownerType: "user", tokenID: "t"),
        clientIP: "203.0.113.7", traceID: TraceContext.random().traceID)
    // Created before the events' timestamps would make none of them its own: backdate it.
    _ = try await webhooks.create(url: url, eventTypes: ["account.*"], enabled: true, caller: admin)
    try await store.transaction { database in
        try await database.raw("UPDATE webhooks SET created_at = '2000-01-01T00:00:00.000Z'").run()
        // Webhooks only: the tenant's default rules (a welcome email per account) are not made.
        try await database.raw(
            "INSERT INTO seeded_tenants (tenant_id, seeded_at) VALUES (\(bind: tenant), '2000-01-01T00:00:00.000Z')"
        ).run()
    }
    let sender = try WebhookSender(settings: .init(policy: policy))
    let subscription = BusSubscription(
        bus: bus,
        consumer: NotificationsConsumer(
            webhooks: webhooks, rules: RuleDirectory(outbox: outbox, events: factory), deliveries: deliveries,
            logger: logger),
        logger: logger)
    let dispatcher = DeliveryDispatcher(
        deliveries: deliveries, webhooks: webhooks, sender: sender,
        mailer: EmailSender(client: nil, from: EmailSender.defaultFrom),
        concurrency: Int(ProcessInfo.processInfo.environment["BIZ_BENCH_CONCURRENCY"] ?? "") ?? 64, logger: logger)
    let before = received.value.load(ordering: .relaxed)
    let serviceSeconds = try await measure {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscription.run() }
            group.addTask { try await dispatcher.run() }
            while try await sentCount(store) < count {
                try await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
            try? await group.waitForAll()
        }
    }
    await sender.shutdown()
    let serviceRate = Double(count) / serviceSeconds
    print(
        String(
            format: "  webhook deliveries:     %8.0f deliveries/s  (%.2f s; %d requests received)", serviceRate,
            serviceSeconds, received.value.load(ordering: .relaxed) - before))
    print(String(format: "  deliveries / baseline:  %8.0f %%", 100 * serviceRate / bareRate))
    try await busStore.close()
    try await store.close()
    try? FileManager.default.removeItem(atPath: directory)
}

/// `count` events of one tenant's accounts (each with a name and an address).
func benchAccountEvents(_ count: Int, type: String, tenant: String) -> [EventEnvelope] {
    (0..<count).map { index in
        EventEnvelope(
            producerService: "team_service", producerServiceID: EventID.generate(),
            traceID: TraceContext.random().traceID, eventType: EventType(type)!,
            payload: [
                "public_id": .string(EventID.generate()), "tenant_id": .string(tenant),
                "name": .string("Pessoa \(index)"), "email": .string("p\(index)@loja.example"), "version": 1,
            ],
            metadata: EventMetadata(
                ownerID: "admin-1", ownerIP: "203.0.113.7", ownerRole: "admin", ownerType: .user,
                ownershipID: EventID.generate(), environment: "bench", tenantID: tenant))
    }
}

/// A fresh durable bus holding `events`, and a fresh Notifications database with its outbox and event factory.
func notificationsBench(_ events: [EventEnvelope], directory: String) async throws
    -> (DurableBus, any SQLStore, any SQLStore, Outbox, EventFactory)
{
    let logger = Logger(label: "biz-bench") { _ in SwiftLogNoOpLogHandler() }
    let busStore = try await SQLiteStore.open(
        path: directory + "/bus.sqlite", migrations: DurableBus.migrations, logger: logger)
    let store = try await SQLiteStore.open(
        path: directory + "/notifications.sqlite", migrations: NotificationsModule.migrations, logger: logger)
    let bus = DurableBus(store: busStore)
    for start in stride(from: 0, to: events.count, by: 1000) {
        _ = try await bus.publish(
            events[start..<min(start + 1000, events.count)].map {
                OutgoingMessage(
                    key: $0.entityID, eventID: $0.eventID, eventType: $0.eventType.description, body: $0.encoded())
            })
    }
    let factory = EventFactory(
        producerService: "notifications_service", producerServiceID: EventID.generate(), environment: "bench",
        serviceOwnerID: ServiceAccount.publicID(of: "notifications"))
    return (bus, busStore, store, Outbox(store: store), factory)
}

func sentCount(_ store: any SQLStore) async throws -> Int {
    try await store.read { database in
        try await database.raw("SELECT COUNT(*) AS sent FROM deliveries WHERE status = 'sent'").first()?
            .decode(column: "sent", as: Int.self) ?? 0
    }
}
