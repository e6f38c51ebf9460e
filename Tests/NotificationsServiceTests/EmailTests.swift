import BizAuth
import BizEvents
import BizMail
import BizMessaging
import BizServiceKit
import BizStorage
import BizTesting
import Foundation
import Testing

@testable import BizOutbox
@testable import NotificationsService

/// Rules, templates and the email channel over a temporary database (SQLite, and PostgreSQL when the tests have
/// one), sending through aiosmtpd (`scripts/smtp-server`) with STARTTLS and AUTH.
@Suite("Email rules and templates")
struct EmailTests {
    let base = DeliveryTests()

    static func event(
        _ type: String, tenant: String, payload: [String: JSONValue], id: String = EventID.generate(),
        at timestamp: EventTimestamp = .now()
    ) -> EventEnvelope {
        var payload = payload
        payload["tenant_id"] = .string(tenant)
        return EventEnvelope(
            eventID: id, producerService: "team_service", producerServiceID: EventID.generate(),
            traceID: "4bf92f3577b34da6a3ce929d0e0e4736", timestamp: timestamp, eventType: EventType(type)!,
            payload: payload,
            metadata: EventMetadata(
                ownerID: "admin-1", ownerIP: "203.0.113.7", ownerRole: "admin", ownerType: .user,
                ownershipID: EventID.generate(), environment: "test", tenantID: tenant))
    }

    static func account(tenant: String, name: String = "Ana Conceição", email: String = "ana@example.com")
        -> EventEnvelope
    {
        event(
            "account.created", tenant: tenant,
            payload: [
                "public_id": .string(EventID.generate()), "name": .string(name), "email": .string(email),
                "version": 1,
            ])
    }

    func consume(_ pipeline: DeliveryTests.Pipeline, _ events: EventEnvelope...) async throws {
        try await pipeline.consumer.handle(
            events.map {
                DeliveredMessage(
                    offset: 0, key: $0.entityID, eventID: $0.eventID, eventType: $0.eventType.description,
                    body: $0.encoded())
            })
    }

    func emails(_ pipeline: DeliveryTests.Pipeline, tenant: String) async throws -> [DeliveryRecord] {
        try await pipeline.deliveries.deliveries(
            tenantID: tenant, filter: .init(channel: "email"), before: nil, limit: 100)
    }

    func withSMTP<T>(_ body: (SMTPTestServer, SMTPClient) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { directory in
            let server = try await SMTPTestServer.start(in: directory, user: "mailer", password: "pw")
            defer { server.stop() }
            var settings = try SMTPSettings(url: "smtp://mailer:pw@127.0.0.1:\(server.port)")
            settings.certificateAuthorities = server.certificateFile
            settings.timeout = 5
            let client = try SMTPClient(settings: settings)
            defer { client.shutdown() }
            return try await body(server, client)
        }
    }

    @Test(
        "the default welcome email: rendered in pt-BR, sent once over STARTTLS with AUTH, audited with the address masked",
        arguments: StoreKind.available)
    func welcome(_ kind: StoreKind) async throws {
        try await withSMTP { server, client in
            try await base.withPipeline(kind, smtp: client) { pipeline in
                let tenant = EventID.generate()
                let account = Self.account(tenant: tenant)
                try await consume(pipeline, account)
                // Redelivered: nothing new.
                try await consume(pipeline, account)
                let made = try await emails(pipeline, tenant: tenant)
                try #require(made.count == 1)
                #expect(made[0].recipient == "ana@example.com")
                try await base.dispatch(pipeline) { try await emails(pipeline, tenant: tenant).first?.status == .sent }
                let received = try server.received()
                try #require(received.count == 1)
                let mail = received[0]
                #expect(mail.tls && mail.user == "mailer")
                #expect(mail.recipients == ["ana@example.com"])
                #expect(mail.headers["Subject"] == "Boas-vindas à Biz Retail, Ana Conceição")
                #expect(mail.headers["Message-ID"] == "<\(made[0].publicID)@biz-retail.test>")
                #expect(mail.text?.contains("Olá, Ana Conceição!") == true)
                #expect(mail.text?.contains("ana@example.com") == true)
                #expect(mail.html?.contains("<strong>Ana Conceição</strong>") == true)
                let sent = try await pipeline.outbox.pending(limit: 1000).first {
                    $0.message.eventType == "notification.sent"
                }
                let sentBody = try #require(sent).message.body
                let body = try JSONParser.parse(Array(sentBody))
                #expect(body["payload"]?["recipient"]?.stringValue == "a***@example.com")
                #expect(!String(decoding: sentBody, as: UTF8.self).contains("ana@example.com"))
            }
        }
    }

    @Test("SMTP down: attempts retry with the reason; once it is back, the email is delivered")
    func smtpDownThenUp() async throws {
        try await withSMTP { server, client in
            try await base.withPipeline(.sqlite, attempts: 10_000, smtp: client) { pipeline in
                let tenant = EventID.generate()
                server.stop()
                try await consume(pipeline, Self.account(tenant: tenant))
                try await base.dispatch(pipeline) {
                    (try await emails(pipeline, tenant: tenant).first?.attemptCount ?? 0) >= 2
                }
                let waiting = try #require(try await emails(pipeline, tenant: tenant).first)
                #expect(waiting.status == .pending)
                #expect(waiting.lastError?.contains("could not connect") == true)
                #expect(waiting.lastError?.contains("ana@example.com") == false)
                try await server.restart()
                try await base.dispatch(pipeline) { try await emails(pipeline, tenant: tenant).first?.status == .sent }
                #expect(try server.received().count == 1)
            }
        }
    }

    @Test("a permanent refusal (550) fails at once; no SMTP server configured fails saying so")
    func refusals() async throws {
        try await withSMTP { server, client in
            try await base.withPipeline(.sqlite, attempts: 5, smtp: client) { pipeline in
                let tenant = EventID.generate()
                try server.answer([550])
                try await consume(pipeline, Self.account(tenant: tenant))
                try await base.dispatch(pipeline) {
                    try await emails(pipeline, tenant: tenant).first?.status == .failed
                }
                let failed = try #require(try await emails(pipeline, tenant: tenant).first)
                #expect(failed.attemptCount == 1)
                #expect(failed.lastError?.contains("550") == true)
            }
        }
        try await base.withPipeline(.sqlite, attempts: 5, smtp: nil) { pipeline in
            let tenant = EventID.generate()
            try await consume(pipeline, Self.account(tenant: tenant))
            try await base.dispatch(pipeline) { try await emails(pipeline, tenant: tenant).first?.status == .failed }
            let failed = try #require(try await emails(pipeline, tenant: tenant).first)
            #expect(failed.attemptCount == 1)
            #expect(failed.lastError?.contains("BIZ_SMTP_URL") == true)
        }
    }

    @Test("templates: checked at save (a broken one is refused naming the field), pt-BR required, rendered per locale")
    func templates() async throws {
        try await base.withPipeline(.sqlite) { pipeline in
            let admin = DeliveryTests.admin(of: EventID.generate())
            let rules = pipeline.rules
            // A tenant starts with the defaults.
            let keys = try await rules.templates(tenantID: admin.principal.tenantID, after: nil, limit: 10).map(\.key)
            #expect(keys == ["welcome", "contract-changed"])
            let good = TemplateContent(subject: "Pedido {{data.number}}", text: "Total: {{data.total}} & mais")
            await #expect(
                throws: ServiceError.unprocessable(
                    field: "locales.pt-BR.text",
                    problem: "is not a valid Mustache template (line 1, column 14: a section is not closed)")
            ) {
                try await rules.createTemplate(
                    key: "order", locales: ["pt-BR": .init(subject: "x", text: "Olá {{#data}}")], caller: admin)
            }
            await #expect(throws: ServiceError.self) {
                try await rules.createTemplate(key: "order", locales: ["en": good], caller: admin)
            }
            await #expect(throws: ServiceError.self) {
                try await rules.createTemplate(key: "Order!", locales: ["pt-BR": good], caller: admin)
            }
            await #expect(throws: ServiceError.self) {
                try await rules.createTemplate(key: "order", locales: ["pt-BR": good, "fr": good], caller: admin)
            }
            let english = TemplateContent(
                subject: "Order {{data.number}}", text: "Total: {{data.total}}",
                html: "<p>{{data.note}}</p>")
            let created = try await rules.createTemplate(
                key: "order", locales: ["pt-BR": good, "en": english], caller: admin)
            #expect(created.version == 1)
            await #expect(throws: ServiceError.conflict(field: "key", problem: "is taken by another template")) {
                try await rules.createTemplate(key: "order", locales: ["pt-BR": good], caller: admin)
            }
            let event = Self.event(
                "order.created", tenant: admin.principal.tenantID,
                payload: ["number": 42, "total": "R$ 10,00", "note": "<b>já</b>"])
            let context = CompiledContent.context(of: event, tenantID: admin.principal.tenantID)
            let portuguese = try created.compiled(for: "pt-BR").render(context)
            // Plain text is not HTML-escaped.
            #expect(portuguese == RenderedMessage(subject: "Pedido 42", text: "Total: R$ 10,00 & mais", html: nil))
            let rendered = try created.compiled(for: "en").render(context)
            #expect(rendered.html == "<p>&lt;b&gt;já&lt;/b&gt;</p>")
            // The default locale can't be removed; a broken update is refused and changes nothing.
            await #expect(throws: ServiceError.self) {
                try await rules.updateTemplate(
                    "order", setting: [:], removing: ["pt-BR"], expectedVersion: nil, caller: admin)
            }
            await #expect(throws: ServiceError.self) {
                try await rules.updateTemplate(
                    "order", setting: ["en": .init(subject: "{{/x}}", text: "t")], removing: [], expectedVersion: nil,
                    caller: admin)
            }
            let updated = try await rules.updateTemplate(
                "order", setting: [:], removing: ["en"], expectedVersion: 1, caller: admin)
            #expect(updated.version == 2 && updated.locales.keys.sorted() == ["pt-BR"])
            await #expect(throws: ServiceError.versionMismatch(current: 2)) {
                try await rules.updateTemplate("order", setting: [:], removing: [], expectedVersion: 1, caller: admin)
            }
            // A template a rule uses can't be deleted.
            await #expect(throws: ServiceError.self) { try await rules.deleteTemplate("welcome", caller: admin) }
            try await rules.deleteTemplate("order", caller: admin)
            await #expect(throws: ServiceError.notFound("template")) {
                try await rules.template("order", tenantID: admin.principal.tenantID)
            }
        }
    }

    @Test(
        "rules: fixed addresses, roles, the contractor's contact when the contract changes (not otherwise), en",
        arguments: StoreKind.available)
    func rules(_ kind: StoreKind) async throws {
        try await base.withPipeline(kind) { pipeline in
            let tenant = EventID.generate()
            let admin = DeliveryTests.admin(of: tenant)
            let rules = pipeline.rules
            let past = EventTimestamp(millisecondsSinceEpoch: EventTimestamp.now().millisecondsSinceEpoch - 60_000)
            var contractor: [String: JSONValue] = [
                "public_id": .string(tenant), "legal_name": "Loja Norte Ltda", "contact_email": "Contato@Norte.example",
                "contact_phone": "+55 11 5555-0000",
                "contract": ["plan": "gold", "starts_on": "2026-01-01", "ends_on": .null, "status": "active"],
                "version": 1,
            ]
            // The contractor's creation is the first the service sees of the tenant: its defaults start then.
            try await consume(
                pipeline, Self.event("client_contractor.created", tenant: tenant, payload: contractor, at: past))
            for (user, roles) in [("u1", ["admin"]), ("u2", ["operator"]), ("u3", ["admin", "operator"])] {
                try await consume(
                    pipeline,
                    Self.event(
                        "user.created", tenant: tenant,
                        payload: [
                            "public_id": .string(user), "email": .string("\(user)@norte.example"),
                            "roles": .array(roles.map(JSONValue.string)), "enabled": true, "version": 1,
                        ]))
            }
            var input = RuleDirectory.RuleInput()
            input.eventTypes = ["team.*"]
            input.template = "welcome"
            input.recipients = [.role("admin"), .address("ops@norte.example"), .role("admin")]
            input.locale = "en"
            let rule = try await rules.createRule(input, caller: admin)
            #expect(rule.name == "welcome" && rule.channel == "email" && rule.enabled)
            var missing = input
            missing.template = "nope"
            await #expect(
                throws: ServiceError.unprocessable(field: "template", problem: "names no template of the tenant")
            ) { try await rules.createRule(missing, caller: admin) }

            try await consume(
                pipeline, Self.event("team.created", tenant: tenant, payload: ["public_id": "t1", "name": "Vendas"]))
            let team = try await emails(pipeline, tenant: tenant).filter { $0.ruleID == rule.publicID }
            #expect(Set(team.compactMap(\.recipient)) == ["u1@norte.example", "u3@norte.example", "ops@norte.example"])
            let first = try #require(team.first)
            let body = try #require(EmailBody(first.body))
            #expect(body.message.subject.hasPrefix("Welcome to Biz Retail"))

            // A phone change is not a contract change; a plan change is, and goes to the contact.
            contractor["contact_phone"] = "+55 11 5555-1111"
            contractor["version"] = 2
            try await consume(pipeline, Self.event("client_contractor.updated", tenant: tenant, payload: contractor))
            #expect(
                try await emails(pipeline, tenant: tenant).filter { $0.eventType == "client_contractor.updated" }
                    .isEmpty)
            contractor["contract"] = [
                "plan": "platinum", "starts_on": "2026-01-01", "ends_on": "2027-12-31",
                "status": "active",
            ]
            contractor["version"] = 3
            let changed = Self.event("client_contractor.updated", tenant: tenant, payload: contractor)
            try await consume(pipeline, changed)
            let contract = try await emails(pipeline, tenant: tenant).filter { $0.eventID == changed.eventID }
            #expect(contract.map(\.recipient) == ["contato@norte.example"])
            let stored = try #require(contract.first)
            let message = try #require(EmailBody(stored.body)).message
            #expect(message.subject == "Seu contrato com a Biz Retail foi alterado")
            #expect(message.text.contains("Plano: platinum") && message.text.contains("Término: 2027-12-31"))
            // Redelivered after the state moved on: nothing new.
            try await consume(pipeline, changed)
            #expect(try await emails(pipeline, tenant: tenant).filter { $0.eventID == changed.eventID }.count == 1)

            // Disabled, the rule sends nothing; the toggle is its own event.
            var off = RuleDirectory.RuleInput()
            off.enabled = false
            let disabled = try await rules.changeRule(rule.publicID, .update(off), expectedVersion: 1, caller: admin)
            #expect(!disabled.enabled && disabled.version == 2)
            let before = try await emails(pipeline, tenant: tenant).count
            try await consume(
                pipeline, Self.event("team.updated", tenant: tenant, payload: ["public_id": "t1", "name": "V2"]))
            #expect(try await emails(pipeline, tenant: tenant).count == before)
            let types = try await pipeline.outbox.pending(limit: 1000).map(\.message.eventType)
            #expect(types.contains("notification_rule.disabled"))
            #expect(types.filter { $0 == "notification_rule.created" }.count == 3)
            #expect(types.filter { $0 == "notification_template.created" }.count == 2)
        }
    }

    @Test("in-app: a rule's notifications go to the users with the role, once, live to a watcher; read one or all")
    func inApp() async throws {
        try await base.withPipeline(.sqlite) { pipeline in
            let tenant = EventID.generate()
            let admin = DeliveryTests.admin(of: tenant)
            let inbox = pipeline.consumer.inbox
            let ana = EventID.generate()
            let bruno = EventID.generate()
            for (user, roles) in [(ana, ["admin"]), (bruno, ["viewer"])] {
                try await consume(
                    pipeline,
                    Self.event(
                        "user.created", tenant: tenant,
                        payload: [
                            "public_id": .string(user), "email": .string("\(user)@norte.example"),
                            "roles": .array(roles.map(JSONValue.string)), "enabled": true, "version": 1,
                        ]))
            }
            var input = RuleDirectory.RuleInput()
            input.eventTypes = ["team.created"]
            input.channel = "in_app"
            input.template = "welcome"
            input.recipients = [.role("admin"), .user(bruno)]
            let rule = try await pipeline.rules.createRule(input, caller: admin)
            var wrong = input
            wrong.recipients = [.address("ops@norte.example")]
            await #expect(throws: ServiceError.self) { try await pipeline.rules.createRule(wrong, caller: admin) }

            let watching = inbox.feed.watch(tenantID: tenant, userID: ana)
            let team = Self.event(
                "team.created", tenant: tenant, payload: ["public_id": "t1", "name": "Vendas", "version": 1])
            try await consume(pipeline, team)
            try await consume(pipeline, team)
            var iterator = watching.makeAsyncIterator()
            let live = try #require(await iterator.next())
            #expect(live.ruleID == rule.publicID && live.title.hasPrefix("Boas-vindas"))
            let anas = try await inbox.items(tenantID: tenant, userID: ana, unreadOnly: false, before: nil, limit: 10)
            #expect(anas.map(\.publicID) == [live.publicID])
            #expect(
                try await inbox.items(tenantID: tenant, userID: bruno, unreadOnly: false, before: nil, limit: 10).count
                    == 1)
            #expect(try await inbox.unreadCount(tenantID: tenant, userID: ana) == 1)
            // Another user cannot read it.
            await #expect(throws: ServiceError.notFound("notification")) {
                try await inbox.markRead(live.publicID, tenantID: tenant, userID: bruno)
            }
            let read = try await inbox.markRead(live.publicID, tenantID: tenant, userID: ana)
            #expect(read.readAt != nil)
            #expect(try await inbox.unreadCount(tenantID: tenant, userID: ana) == 0)
            #expect(
                try await inbox.items(tenantID: tenant, userID: ana, unreadOnly: true, before: nil, limit: 10).isEmpty)
            #expect(try await inbox.markAllRead(tenantID: tenant, userID: bruno) == 1)
            #expect(try await inbox.markAllRead(tenantID: tenant, userID: bruno) == 0)
        }
    }

    @Test("a webhook rule: the event goes to the named webhook once, not when it is disabled; no template needed")
    func webhookRule() async throws {
        try await base.withPipeline(.sqlite) { pipeline in
            let tenant = EventID.generate()
            let admin = DeliveryTests.admin(of: tenant)
            // Its own subscription names nothing these events match.
            let (webhook, _) = try await pipeline.webhooks.create(
                url: "http://127.0.0.1:9/hook", eventTypes: ["cost_center.deleted"], enabled: true, caller: admin)
            var input = RuleDirectory.RuleInput()
            input.eventTypes = ["team.created"]
            input.channel = "webhook"
            input.recipients = [.webhook(webhook.publicID)]
            let rule = try await pipeline.rules.createRule(input, caller: admin)
            #expect(rule.template.isEmpty && rule.name == "webhook")
            var missing = input
            missing.recipients = [.webhook(EventID.generate())]
            await #expect(throws: ServiceError.self) { try await pipeline.rules.createRule(missing, caller: admin) }
            var mixed = input
            mixed.recipients = [.webhook(webhook.publicID), .address("ops@norte.example")]
            await #expect(throws: ServiceError.self) { try await pipeline.rules.createRule(mixed, caller: admin) }
            var email = RuleDirectory.RuleInput()
            email.eventTypes = ["team.created"]
            email.recipients = [.address("ops@norte.example")]
            await #expect(
                throws: ServiceError.unprocessable(field: "template", problem: "is required (but for a webhook rule)")
            ) { try await pipeline.rules.createRule(email, caller: admin) }

            let team = Self.event("team.created", tenant: tenant, payload: ["public_id": "t1", "name": "Vendas"])
            try await consume(pipeline, team)
            try await consume(pipeline, team)
            let made = try await pipeline.deliveries.deliveries(
                tenantID: tenant, filter: .init(channel: "webhook"), before: nil, limit: 10)
            #expect(made.count == 1)
            #expect(made.first?.ruleID == rule.publicID && made.first?.webhookID == webhook.publicID)
            #expect(made.first.flatMap { try? JSONParser.parse(Array($0.body)) }?["type"] == "team.created")
            try await pipeline.webhooks.change(
                webhook.publicID, .update(url: nil, eventTypes: nil, enabled: false), tenantID: tenant, caller: admin)
            try await consume(
                pipeline, Self.event("team.created", tenant: tenant, payload: ["public_id": "t2", "name": "Caixa"]))
            #expect(
                try await pipeline.deliveries.deliveries(
                    tenantID: tenant, filter: .init(channel: "webhook"), before: nil, limit: 10
                ).count == 1)
        }
    }
}
