import BizEvents
import BizTesting
import Foundation
import Testing

extension GatewayEndToEndTests {
    /// What the webhook tests give the system: the receiver's address allowed (it is loopback) and its certificate
    /// trusted, and short retries.
    static func webhookEnvironment(_ receiver: WebhookReceiver, smtp: SMTPTestServer? = nil) -> [String: String] {
        var environment = [
            "BIZ_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "BIZ_WEBHOOK_CA_FILE": receiver.certificateFile,
            "BIZ_NOTIFICATIONS_MAX_ATTEMPTS": "3", "BIZ_NOTIFICATIONS_RETRY_BASE_MS": "200",
            "BIZ_NOTIFICATIONS_RETRY_MAX_MS": "1000",
        ]
        if let smtp {
            // STARTTLS (required, as credentials are given) and AUTH; the password needs percent-encoding.
            environment["BIZ_SMTP_URL"] = "smtp://mailer:p%40ss@127.0.0.1:\(smtp.port)"
            environment["BIZ_SMTP_CA_FILE"] = smtp.certificateFile
            environment["BIZ_SMTP_FROM"] = "Biz Retail <no-reply@biz-retail.test>"
        }
        return environment
    }

    /// The messages the SMTP server accepted, once there are `count`.
    static func mails(_ smtp: SMTPTestServer, count: Int) async throws -> [SMTPTestServer.Message] {
        var found: [SMTPTestServer.Message] = []
        try await BizRetailProcess.eventually(timeout: .seconds(30), "\(count) emails") {
            found = try smtp.received()
            return found.count >= count
        }
        return found
    }

    /// The tenant's deliveries for one event, once there is at least one in `status`.
    static func deliveries(
        _ https: HTTPSClient, _ token: String, event: String? = nil, status: String, count: Int = 1,
        channel: String = "webhook"
    ) async throws -> [JSONValue] {
        var found: [JSONValue] = []
        try await BizRetailProcess.eventually(timeout: .seconds(30), "\(count) \(status) deliveries") {
            var path = "/v1/notification-deliveries?status=\(status)&channel=\(channel)"
            if let event { path += "&event_id=\(event)" }
            let page = try await https.request("GET", path, bearer: token)
            guard case .array(let items)? = page.json?["items"] else { return false }
            found = items
            return items.count >= count
        }
        return found
    }

    @Test(
        "notifications: webhooks signed (PyPI's standardwebhooks verifies, over HTTPS), retried, failed, retried by hand, disabled by 410, audited, private addresses refused at save time; the welcome email and a rule's email through aiosmtpd (STARTTLS, AUTH); templates checked at save",
        arguments: Topology.allCases)
    func webhooks(_ topology: Topology) async throws {
        try await withTemporaryDirectory { scratch in
            let receiver = try await WebhookReceiver.start(in: scratch + "/receiver")
            defer { receiver.stop() }
            let smtp = try await SMTPTestServer.start(in: scratch + "/smtp", user: "mailer", password: "p@ss")
            defer { smtp.stop() }
            let environment = Self.webhookEnvironment(receiver, smtp: smtp)
            try await withSystem(topology, environment: environment) { system, https, platform in
                let north = try await Self.tenant(
                    https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")

                // Refused at save time: loopback that is not allowed, private, plain http, a malformed type.
                for (url, status) in [
                    ("https://127.0.0.2/hook", 422), ("https://10.0.0.7/hook", 422), ("https://[::1]/hook", 422),
                    ("http://example.com/hook", 422), ("ftp://example.com/", 422), ("0", 422),
                ] {
                    let refused = try await https.json(
                        "POST", "/v1/webhooks", ["url": .string(url), "event_types": ["account.*"]],
                        bearer: north.token)
                    #expect(refused.status == status, "\(url): \(refused.status) \(refused.text)")
                    #expect(refused.json?["field"] == "url", "\(url)")
                }
                let badType = try await https.json(
                    "POST", "/v1/webhooks", ["url": .string(receiver.baseURL + "/hook"), "event_types": ["account"]],
                    bearer: north.token)
                #expect(badType.status == 400)
                #expect(badType.json?["field"] == "event_types")

                let created = try await https.json(
                    "POST", "/v1/webhooks",
                    ["url": .string(receiver.baseURL + "/hook"), "event_types": ["account.*"]], bearer: north.token)
                #expect(created.status == 201, "\(created.text)")
                #expect(created.headers["cache-control"] == "no-store")
                let webhookID = try #require(created.json?["public_id"]?.stringValue)
                let secret = try #require(created.json?["secret"]?.stringValue)
                #expect(secret.hasPrefix("whsec_"))
                try receiver.trust([secret])
                let read = try await https.request("GET", "/v1/webhooks/\(webhookID)", bearer: north.token)
                #expect(read.status == 200)
                #expect(read.json?["secret"] == nil)
                #expect(read.json?["event_types"] == ["account.*"])
                // A replay (Idempotency-Key) answers the webhook without its secret, which is never kept.
                let keyed: JSONValue = ["url": .string(receiver.baseURL + "/teams"), "event_types": ["team.*"]]
                let first = try await https.json(
                    "POST", "/v1/webhooks", keyed, bearer: north.token, headers: ["Idempotency-Key": "w-1"])
                let replay = try await https.json(
                    "POST", "/v1/webhooks", keyed, bearer: north.token, headers: ["Idempotency-Key": "w-1"])
                #expect(first.json?["secret"]?.stringValue?.hasPrefix("whsec_") == true, "\(first.text)")
                #expect(replay.headers["idempotent-replayed"] == "true")
                #expect(replay.json?["public_id"] == first.json?["public_id"])
                #expect(replay.json?["secret"] == nil)
                let teamHook = try #require(first.json?["public_id"]?.stringValue)
                #expect(
                    try await https.request("DELETE", "/v1/webhooks/\(teamHook)", bearer: north.token).status == 204)
                // Another tenant's admin does not see it.
                let south = try await Self.tenant(
                    https, system, platform: platform, document: "12.ABC.345/01DE-35", email: "admin@sul.com.br")
                #expect(try await https.request("GET", "/v1/webhooks/\(webhookID)", bearer: south.token).status == 404)

                // An account created: posted once, signed, the body the event's.
                let account = try await https.json(
                    "POST", "/v1/accounts",
                    ["name": "Maria Silva", "document_registry": "529.982.247-25", "email": "maria@example.com"],
                    bearer: north.token)
                let accountID = try #require(account.json?["public_id"]?.stringValue, "\(account.text)")
                let sent = try await Self.deliveries(https, north.token, status: "sent")
                let deliveryID = try #require(sent.first?["public_id"]?.stringValue)
                let requests = try receiver.received()
                #expect(requests.count == 1)
                let request = try #require(requests.first)
                #expect(request.verified, "standardwebhooks: \(request.error ?? "")")
                #expect(request.headers["webhook-id"] == deliveryID)
                #expect(request.body?["type"] == "account.created")
                #expect(request.body?["data"]?["public_id"] == .string(accountID))
                #expect(request.body?["tenant_id"] == .string(north.id))
                let detail = try await https.request(
                    "GET", "/v1/notification-deliveries/\(deliveryID)", bearer: north.token)
                #expect(detail.json?["attempts"] == .array([try #require(detail.json?["attempts"]?.arrayValue?.first)]))
                #expect(detail.json?["attempts"]?.arrayValue?.first?["response_code"] == 200, "\(detail.text)")
                #expect(detail.json?["webhook_id"] == .string(webhookID))

                // The account's welcome email (the tenant's default rule), rendered in pt-BR, over STARTTLS with AUTH.
                let welcome = try await Self.mails(smtp, count: 1)
                #expect(welcome.count == 1)
                let mail = try #require(welcome.first)
                #expect(mail.tls && mail.user == "mailer")
                #expect(mail.recipients == ["maria@example.com"])
                #expect(mail.headers["From"] == "Biz Retail <no-reply@biz-retail.test>")
                #expect(mail.headers["Subject"] == "Boas-vindas à Biz Retail, Maria Silva")
                #expect(mail.text?.contains("Olá, Maria Silva!") == true, "\(mail.text ?? "")")
                let emailSent = try await Self.deliveries(https, north.token, status: "sent", channel: "email")
                let emailID = try #require(emailSent.first?["public_id"]?.stringValue)
                #expect(mail.headers["Message-ID"] == "<\(emailID)@biz-retail.test>")
                #expect(emailSent.first?["recipient"] == "maria@example.com")
                try await Self.templatesAndRules(https, north.token, smtp: smtp)

                // 500 until the attempts run out: failed, each attempt recorded; then retried by hand, and sent.
                try receiver.answer([500, 500, 500])
                let renamed = try await https.json(
                    "PATCH", "/v1/accounts/\(accountID)", ["name": "Maria S. Silva"], bearer: north.token)
                #expect(renamed.status == 200, "\(renamed.text)")
                let failed = try await Self.deliveries(https, north.token, status: "failed")
                let failedID = try #require(failed.first?["public_id"]?.stringValue)
                let failure = try await https.request(
                    "GET", "/v1/notification-deliveries/\(failedID)", bearer: north.token)
                #expect(failure.json?["attempt_count"] == 3, "\(failure.text)")
                #expect(failure.json?["last_error"]?.stringValue?.contains("500") == true)
                let retried = try await https.request(
                    "POST", "/v1/notification-deliveries/\(failedID)/retry", bearer: north.token)
                #expect(retried.status == 200, "\(retried.text)")
                #expect(retried.json?["status"] == "pending")
                _ = try await Self.deliveries(https, north.token, status: "sent", count: 2)
                let again = try await https.request(
                    "POST", "/v1/notification-deliveries/\(failedID)/retry", bearer: north.token)
                #expect(again.status == 409, "\(again.text)")

                // 410 Gone: the webhook is disabled, with the reason.
                try receiver.answer([410])
                _ = try await https.json(
                    "PATCH", "/v1/accounts/\(accountID)", ["name": "Maria Souza"], bearer: north.token)
                _ = try await Self.deliveries(https, north.token, status: "failed", count: 1)
                try await BizRetailProcess.eventually("the webhook disabled") {
                    let webhook = try await https.request("GET", "/v1/webhooks/\(webhookID)", bearer: north.token)
                    return webhook.json?["enabled"] == false
                }
                let disabled = try await https.request("GET", "/v1/webhooks/\(webhookID)", bearer: north.token)
                #expect(disabled.json?["disabled_reason"]?.stringValue?.contains("410") == true)
                #expect(try receiver.received().count == 6)
                #expect(try receiver.received().allSatisfy(\.verified))

                // The audit has every outcome and the webhook's changes, never its secret.
                try await BizRetailProcess.eventually("notification events audited") {
                    let sentEvents = try await https.request(
                        "GET", "/v1/audit/events?event_type=notification.sent", bearer: north.token)
                    let failedEvents = try await https.request(
                        "GET", "/v1/audit/events?event_type=notification.failed", bearer: north.token)
                    guard case .array(let sent)? = sentEvents.json?["items"],
                        case .array(let failed)? = failedEvents.json?["items"]
                    else { return false }
                    // Two webhooks and two emails sent; two webhooks failed.
                    return sent.count == 4 && failed.count == 2
                }
                let webhookEvents = try await https.request(
                    "GET", "/v1/audit/events?event_type=webhook.disabled", bearer: north.token)
                #expect(
                    webhookEvents.json?["items"]?.arrayValue?.first?["metadata"]?["owner_type"] == "service",
                    "\(webhookEvents.text)")
                let everything = try await https.request("GET", "/v1/audit/events?page_size=1000", bearer: platform)
                #expect(!everything.text.contains(secret))
            }
        }
    }
}

extension GatewayEndToEndTests {
    /// Templates and rules through the gateway: the defaults listed, a broken template refused at save time naming
    /// its field, and a rule of the tenant's own sending its template to a fixed address.
    static func templatesAndRules(_ https: HTTPSClient, _ token: String, smtp: SMTPTestServer) async throws {
        let defaults = try await https.request("GET", "/v1/notification-rules", bearer: token)
        #expect(
            defaults.json?["items"]?.arrayValue?.compactMap { $0["template"]?.stringValue }.sorted()
                == ["contract-changed", "welcome"], "\(defaults.text)")
        let welcome = try await https.request("GET", "/v1/notification-templates/welcome", bearer: token)
        #expect(welcome.json?["locales"]?["en"]?["subject"] == "Welcome to Biz Retail, {{data.name}}")

        let broken = try await https.json(
            "POST", "/v1/notification-templates",
            ["key": "team-news", "locales": ["pt-BR": ["subject": "Equipe {{data.name}}", "text": "{{#data}}"]]],
            bearer: token)
        #expect(broken.status == 422, "\(broken.text)")
        #expect(broken.json?["field"] == "locales.pt-BR.text")
        let noDefault = try await https.json(
            "POST", "/v1/notification-templates",
            ["key": "team-news", "locales": ["en": ["subject": "Team", "text": "New"]]], bearer: token)
        #expect(noDefault.status == 422, "\(noDefault.text)")
        let template = try await https.json(
            "POST", "/v1/notification-templates",
            [
                "key": "team-news",
                "locales": [
                    "pt-BR": [
                        "subject": "Nova equipe: {{data.name}}", "text": "A equipe {{data.name}} foi criada.",
                        "html": "<p>A equipe <b>{{data.name}}</b> foi criada.</p>",
                    ],
                    "en": ["subject": "New team: {{data.name}}", "text": "Team {{data.name}} was created."],
                ],
            ], bearer: token)
        #expect(template.status == 201, "\(template.text)")
        #expect(template.headers["location"] == "/v1/notification-templates/team-news")
        let badRule = try await https.json(
            "POST", "/v1/notification-rules",
            ["event_types": ["team.created"], "template": "team-news", "recipients": [["type": "pager"]]],
            bearer: token)
        #expect(badRule.status == 400 && badRule.json?["field"] == "recipients[0].type", "\(badRule.text)")
        let rule = try await https.json(
            "POST", "/v1/notification-rules",
            [
                "name": "Team news", "event_types": ["team.created"], "template": "team-news", "locale": "en",
                "recipients": [["type": "address", "address": "Ops@Norte.example"]],
            ], bearer: token)
        #expect(rule.status == 201, "\(rule.text)")
        #expect(rule.json?["recipients"] == [["type": "address", "address": "ops@norte.example"]])
        // A rule without a template is a webhook rule, which names webhooks of the tenant.
        let noTemplate = try await https.json(
            "POST", "/v1/notification-rules",
            ["event_types": ["team.created"], "recipients": [["type": "address", "address": "a@norte.example"]]],
            bearer: token)
        #expect(noTemplate.status == 422 && noTemplate.json?["field"] == "template", "\(noTemplate.text)")
        let noWebhook = try await https.json(
            "POST", "/v1/notification-rules",
            [
                "event_types": ["team.created"], "channel": "webhook",
                "recipients": [["type": "webhook", "webhook_id": .string(UUID().uuidString.lowercased())]],
            ], bearer: token)
        #expect(noWebhook.status == 422, "\(noWebhook.text)")
        #expect(noWebhook.json?["field"] == "recipients[0].webhook_id")
        let inUse = try await https.request("DELETE", "/v1/notification-templates/team-news", bearer: token)
        #expect(inUse.status == 409, "\(inUse.text)")

        let before = try smtp.received().count
        let team = try await https.json("POST", "/v1/teams", ["name": "Loja & Cia"], bearer: token)
        #expect(team.status == 201, "\(team.text)")
        let mails = try await mails(smtp, count: before + 1)
        let news = try #require(mails.last)
        #expect(news.recipients == ["ops@norte.example"])
        #expect(news.headers["Subject"] == "New team: Loja & Cia")
        #expect(news.text?.contains("Team Loja & Cia was created.") == true, "\(news.text ?? "")")
        try await inApp(https, token, team: try #require(team.json?["public_id"]?.stringValue))
    }

    /// An in-app rule: the admin's live stream (Server-Sent Events) gets the notification within a second of the
    /// change; the list has it unread until it is marked read.
    static func inApp(_ https: HTTPSClient, _ token: String, team: String) async throws {
        let rule = try await https.json(
            "POST", "/v1/notification-rules",
            [
                "event_types": ["team.updated"], "channel": "in_app", "template": "team-news",
                "recipients": [["type": "role", "role": "admin"]],
            ], bearer: token)
        #expect(rule.status == 201, "\(rule.text)")
        let wrong = try await https.json(
            "POST", "/v1/notification-rules",
            [
                "event_types": ["team.updated"], "channel": "in_app", "template": "team-news",
                "recipients": [["type": "address", "address": "ops@norte.example"]],
            ], bearer: token)
        #expect(wrong.status == 422 && wrong.json?["field"] == "recipients[0]", "\(wrong.text)")
        let refused = try await https.request("GET", "/v1/notifications/stream", bearer: "not-a-token")
        #expect(refused.status == 401, "\(refused.text)")
        let stream = try https.stream("/v1/notifications/stream", bearer: token)
        defer { stream.stop() }
        #expect(try await stream.wait { $0.contains(": connected") }, "\(stream.text)")
        let renamed = try await https.json("PATCH", "/v1/teams/\(team)", ["name": "Loja & Cia 2"], bearer: token)
        #expect(renamed.status == 200, "\(renamed.text)")
        let changed = ContinuousClock.now
        #expect(try await stream.wait(timeout: .seconds(5)) { $0.contains("event: notification") }, "\(stream.text)")
        let latency = ContinuousClock.now - changed
        #expect(latency < .seconds(1), "the stream got it after \(latency)")
        #expect(stream.text.contains("New team: Loja & Cia 2") || stream.text.contains("Nova equipe: Loja & Cia 2"))
        let list = try await https.request("GET", "/v1/notifications", bearer: token)
        #expect(list.json?["unread_count"] == 1, "\(list.text)")
        let id = try #require(list.json?["items"]?.arrayValue?.first?["public_id"]?.stringValue)
        let read = try await https.request("POST", "/v1/notifications/\(id)/read", bearer: token)
        #expect(read.json?["read"] == true, "\(read.text)")
        let after = try await https.request("GET", "/v1/notifications?unread=true", bearer: token)
        #expect(after.json?["unread_count"] == 0 && after.json?["items"] == [], "\(after.text)")
    }

    @Test(
        "webhooks across restarts: redelivered events send nothing twice; without the allow-list a saved loopback URL is refused at send time"
    )
    func webhookRedeliveryAndSendTimeRefusal() async throws {
        try await withTemporaryDirectory { directory in
            let receiver = try await WebhookReceiver.start(in: directory + "/receiver")
            defer { receiver.stop() }
            let data = directory + "/data"
            var system = try await BizRetailProcess(
                dataDirectory: data, environment: Self.webhookEnvironment(receiver))
            var https = HTTPSClient(system)
            let platform = try await https.adminToken(system)
            let north = try await Self.tenant(
                https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            let created = try await https.json(
                "POST", "/v1/webhooks", ["url": .string(receiver.baseURL + "/hook"), "event_types": ["*"]],
                bearer: north.token)
            try receiver.trust([try #require(created.json?["secret"]?.stringValue, "\(created.text)")])
            let team = try await https.json("POST", "/v1/teams", ["name": "Loja 1"], bearer: north.token)
            let teamID = try #require(team.json?["public_id"]?.stringValue, "\(team.text)")
            _ = try await Self.deliveries(https, north.token, status: "sent")
            #expect(try receiver.received().count == 1)
            _ = try await system.stop()

            // Every event the consumer has seen is delivered to it again (its committed offset rewound).
            let rewind = try await runProgram(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                        + "c.execute(\"UPDATE bus_consumer_offsets SET committed_offset = 0 WHERE consumer = 'notifications'\"); "
                        + "c.commit(); print(c.total_changes)",
                    data + "/bus.sqlite",
                ])
            #expect(rewind.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(rewind.error)")
            var environment = Self.webhookEnvironment(receiver)
            environment["BIZ_WEBHOOK_ALLOWED_HOSTS"] = nil
            system = try await BizRetailProcess(dataDirectory: data, environment: environment)
            https = HTTPSClient(system)
            let token = try await https.token(
                [
                    "grant_type": "password", "username": "admin@norte.com.br",
                    "password": "Senha-forte-\("11.222.333/0001-81".suffix(4))",
                ],
                basic: (
                    try #require(system.bootstrapCredential("client_id")),
                    try #require(system.bootstrapCredential("client_secret"))
                ))
            let northToken = try #require(token.json?["access_token"]?.stringValue, "\(token.text)")

            // A new event: its delivery is refused at send time (127.0.0.1 is no longer allowed).
            let renamed = try await https.json(
                "PATCH", "/v1/teams/\(teamID)", ["name": "Loja Um"], bearer: northToken)
            #expect(renamed.status == 200, "\(renamed.text)")
            let refused = try await Self.deliveries(https, northToken, status: "failed")
            #expect(
                refused.first?["last_error"]
                    == "refused: the URL resolves to a loopback, private or reserved address, which webhooks may not call",
                "\(refused)")
            // The redelivered events made no second delivery, and nothing more reached the receiver.
            let all = try await https.request("GET", "/v1/notification-deliveries", bearer: northToken)
            guard case .array(let items)? = all.json?["items"] else {
                Issue.record("no deliveries: \(all.text)")
                return
            }
            // team.created before the restart; team.updated after it, refused.
            #expect(items.compactMap { $0["event_type"]?.stringValue }.sorted() == ["team.created", "team.updated"])
            #expect(try receiver.received().count == 1)
            // Saving the URL again is refused too.
            let webhookID = try #require(created.json?["public_id"]?.stringValue)
            let resaved = try await https.json(
                "PATCH", "/v1/webhooks/\(webhookID)", ["url": .string(receiver.baseURL + "/other")],
                bearer: northToken)
            #expect(resaved.status == 422, "\(resaved.text)")
            _ = try await system.stop()
        }
    }
}
