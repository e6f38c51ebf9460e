import BizAuth
import BizEvents
import BizMail
import BizMessaging
import BizOutbox
import BizStorage
import BizTelemetry
import BizTesting
import Foundation
import Logging
import NotificationsService

/// Emails per second, from events on the durable bus to a local SMTP server (aiosmtpd, `scripts/smtp-server`, with
/// STARTTLS and AUTH): the Notifications consumer renders the tenant's default welcome email for every
/// `account.created`, and the dispatcher sends and records each. The baseline, in the same run and against the same
/// server, is a bare loop over the same SMTP client sending the same messages at the same concurrency (64, over at
/// most 10 connections).
func emailBench(_ arguments: ArraySlice<String>) async throws {
    var count = 2_000
    var directory = NSTemporaryDirectory() + "biz-bench-emails"
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--emails": count = Int(iterator.next() ?? "") ?? count
        case "--dir": directory = iterator.next() ?? directory
        default: throw BenchError("unknown option \(argument)")
        }
    }
    directory = try freshDirectory(directory)
    let logger = Logger(label: "biz-bench") { _ in SwiftLogNoOpLogHandler() }
    let server = try await SMTPTestServer.start(in: directory + "/smtp", user: "mailer", password: "pw")
    defer { server.stop() }
    var settings = try SMTPSettings(url: "smtp://mailer:pw@127.0.0.1:\(server.port)")
    settings.certificateAuthorities = server.certificateFile
    print("email-deliveries: \(count) events, the default welcome rule, aiosmtpd at 127.0.0.1:\(server.port)")

    let tenant = EventID.generate()
    let events = benchAccountEvents(count, type: "account.created", tenant: tenant)
    let from = Mailbox("no-reply@biz-retail.test", name: "Biz Retail")

    // Baseline: the same client, 64 senders.
    let bare = try SMTPClient(settings: settings)
    let concurrency = 64
    let bareSeconds = try await measure {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for index in stride(from: worker, to: events.count, by: concurrency) {
                        let name = events[index].payload["name"]?.stringValue ?? ""
                        try await bare.send(
                            MailMessage(
                                from: from, to: [Mailbox("p\(index)@loja.example")],
                                subject: "Boas-vindas à Biz Retail, \(name)",
                                text: "Olá, \(name)!\n\nSua conta na Biz Retail foi criada.\n",
                                html: "<p>Olá, <strong>\(name)</strong>!</p>", messageID: "\(EventID.generate())@biz"))
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    bare.shutdown()
    let bareRate = Double(count) / bareSeconds
    print(String(format: "  bare SMTP client:       %8.0f emails/s      (%.2f s)  <- baseline", bareRate, bareSeconds))

    // The service: events on the bus → consumer (rules, templates) → deliveries → dispatcher → SMTP server.
    let (bus, busStore, store, outbox, factory) = try await notificationsBench(events, directory: directory)
    let policy = DestinationPolicy()
    let webhooks = WebhookDirectory(outbox: outbox, events: factory, masterKey: .generate(), policy: policy)
    let deliveries = DeliveryStore(outbox: outbox, events: factory, schedule: RetrySchedule())
    let client = try SMTPClient(settings: settings)
    let mailer = EmailSender(client: client, from: from)
    let sender = try WebhookSender(settings: .init(policy: policy))
    let subscription = BusSubscription(
        bus: bus,
        consumer: NotificationsConsumer(
            webhooks: webhooks, rules: RuleDirectory(outbox: outbox, events: factory), deliveries: deliveries,
            logger: logger),
        logger: logger)
    let dispatcher = DeliveryDispatcher(
        deliveries: deliveries, webhooks: webhooks, sender: sender, mailer: mailer, logger: logger)
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
    client.shutdown()
    await sender.shutdown()
    let serviceRate = Double(count) / serviceSeconds
    print(
        String(
            format: "  email deliveries:       %8.0f emails/s      (%.2f s; %d messages received in all)", serviceRate,
            serviceSeconds, try server.received().count))
    print(String(format: "  deliveries / baseline:  %8.0f %%", 100 * serviceRate / bareRate))
    try await busStore.close()
    try await store.close()
    try? FileManager.default.removeItem(atPath: directory)
}
