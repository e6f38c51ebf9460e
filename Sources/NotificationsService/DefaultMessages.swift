import BizEvents

/// What every tenant starts with: the welcome email a new account gets, and the message its contractor's contact
/// gets when the contract changes. Made once per tenant, then the tenant's own to edit or delete.
enum DefaultMessages {
    static let welcome = "welcome"
    static let contractChanged = "contract-changed"

    static let templates: [(String, [String: TemplateContent])] = [
        (
            welcome,
            [
                "pt-BR": TemplateContent(
                    subject: "Boas-vindas à Biz Retail, {{data.name}}",
                    text: """
                        Olá, {{data.name}}!

                        Sua conta na Biz Retail foi criada com o e-mail {{data.email}}.

                        Equipe Biz Retail
                        """,
                    html: """
                        <p>Olá, <strong>{{data.name}}</strong>!</p>
                        <p>Sua conta na Biz Retail foi criada com o e-mail {{data.email}}.</p>
                        <p>Equipe Biz Retail</p>
                        """),
                "en": TemplateContent(
                    subject: "Welcome to Biz Retail, {{data.name}}",
                    text: """
                        Hello, {{data.name}}!

                        Your Biz Retail account was created with the email {{data.email}}.

                        The Biz Retail team
                        """,
                    html: """
                        <p>Hello, <strong>{{data.name}}</strong>!</p>
                        <p>Your Biz Retail account was created with the email {{data.email}}.</p>
                        <p>The Biz Retail team</p>
                        """),
            ]
        ),
        (
            contractChanged,
            [
                "pt-BR": TemplateContent(
                    subject: "Seu contrato com a Biz Retail foi alterado",
                    text: """
                        Olá, {{data.legal_name}}!

                        Seu contrato foi alterado. Plano: {{data.contract.plan}}. Situação: {{data.contract.status}}. \
                        Início: {{data.contract.starts_on}}.{{#data.contract.ends_on}} Término: \
                        {{data.contract.ends_on}}.{{/data.contract.ends_on}}

                        Equipe Biz Retail
                        """),
                "en": TemplateContent(
                    subject: "Your Biz Retail contract has changed",
                    text: """
                        Hello, {{data.legal_name}}!

                        Your contract has changed. Plan: {{data.contract.plan}}. Status: {{data.contract.status}}. \
                        Starts on: {{data.contract.starts_on}}.{{#data.contract.ends_on}} Ends on: \
                        {{data.contract.ends_on}}.{{/data.contract.ends_on}}

                        The Biz Retail team
                        """),
            ]
        ),
    ]

    static func rules(tenant: String, now: String) -> [RuleRecord] {
        [
            RuleRecord(
                publicID: EventID.generate(), tenantID: tenant, name: "Welcome email",
                eventTypes: [try! EventPattern("account.created")], channel: "email", template: welcome,
                recipients: [.subjectEmail(field: "email")], locale: MessageLocale.default, changed: [],
                enabled: true, now: now),
            RuleRecord(
                publicID: EventID.generate(), tenantID: tenant, name: "Contract changed",
                eventTypes: [try! EventPattern("client_contractor.updated")], channel: "email",
                template: contractChanged, recipients: [.contractorContact], locale: MessageLocale.default,
                changed: ["contract"], enabled: true, now: now),
        ]
    }
}
