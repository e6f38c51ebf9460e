import Mustache

/// The pages a browser sees at the authorization and logout endpoints: rendered on the server with swift-mustache
/// (every value HTML-escaped), no JavaScript, in Brazilian Portuguese or English by `ui_locales` or
/// `Accept-Language` (Portuguese when neither names a language the pages have).
struct LoginPages: Sendable {
    enum Language: String, Sendable, CaseIterable {
        case portuguese = "pt-BR"
        case english = "en"
    }

    /// A hidden form field: the authorization request travels through the login form unchanged.
    struct Field: Sendable {
        var name: String
        var value: String
    }

    private let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        for (name, text) in Self.templates {
            // The templates are constants of this file; one that does not parse is a programming error.
            guard let template = try? MustacheTemplate(string: text) else {
                preconditionFailure("the \(name) template does not parse")
            }
            library.register(template, named: name)
        }
        self.library = library
    }

    /// The language of the pages for this request.
    static func language(uiLocales: String?, acceptLanguage: String?) -> Language {
        var candidates: [(tag: String, weight: Double)] = []
        for (index, tag) in (uiLocales ?? "").split(separator: " ").enumerated() {
            candidates.append((String(tag), 2 - Double(index) * 0.001))
        }
        for entry in (acceptLanguage ?? "").split(separator: ",") {
            let parts = entry.split(separator: ";")
            guard let tag = parts.first?.trimmingCharacters(in: .whitespaces), !tag.isEmpty else { continue }
            var weight = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix("q="), let value = Double(pair.dropFirst(2)) { weight = value }
            }
            candidates.append((tag, weight))
        }
        for candidate in candidates.enumerated().sorted(by: {
            $0.element.weight != $1.element.weight ? $0.element.weight > $1.element.weight : $0.offset < $1.offset
        }) where candidate.element.weight > 0 {
            let primary = candidate.element.tag.lowercased().split(separator: "-").first.map(String.init) ?? ""
            if primary == "pt" { return .portuguese }
            if primary == "en" { return .english }
        }
        return .portuguese
    }

    func login(
        _ language: Language, client: String, fields: [Field], csrf: String, email: String, message: String?
    ) -> String {
        render(
            "login", language,
            [
                "client": client, "fields": fields.map { ["name": $0.name, "value": $0.value] }, "csrf": csrf,
                "email": email, "message": message ?? "", "has_message": message != nil,
            ])
    }

    func error(_ language: Language, code: String, description: String) -> String {
        render("error", language, ["code": code, "description": description])
    }

    func signedOut(_ language: Language) -> String { render("signed_out", language, [:]) }

    func confirmLogout(_ language: Language, fields: [Field], csrf: String) -> String {
        render(
            "confirm_logout", language,
            ["fields": fields.map { ["name": $0.name, "value": $0.value] }, "csrf": csrf])
    }

    /// A message of the login form in `language`.
    static func message(_ key: String, _ language: Language) -> String {
        texts[language]?[key] ?? key
    }

    private func render(_ name: String, _ language: Language, _ values: [String: Any]) -> String {
        var context: [String: Any] = values
        let texts = Self.texts[language] ?? [:]
        context["t"] = texts
        context["title"] = texts[Self.titles[name] ?? ""] ?? ""
        context["lang"] = language.rawValue
        return library.render(context, withTemplate: name) ?? ""
    }

    static let titles = [
        "login": "sign_in", "error": "error_title", "signed_out": "signed_out", "confirm_logout": "confirm_logout",
    ]

    static let texts: [Language: [String: String]] = [
        .portuguese: [
            "sign_in": "Entrar", "continue_to": "para continuar em", "email": "E-mail", "password": "Senha",
            "wrong_credentials": "E-mail ou senha incorretos.", "missing_credentials": "Informe o e-mail e a senha.",
            "throttled": "Muitas tentativas. Aguarde um pouco e tente de novo.",
            "locked": "Muitas tentativas erradas: o acesso desta conta está bloqueado por alguns minutos.",
            "expired_form": "O formulário expirou. Tente de novo.",
            "error_title": "Não foi possível entrar", "error_intro": "O pedido de autorização é inválido.",
            "signed_out": "Você saiu.", "signed_out_detail": "Sua sessão foi encerrada.",
            "confirm_logout": "Deseja sair?", "sign_out": "Sair",
        ],
        .english: [
            "sign_in": "Sign in", "continue_to": "to continue to", "email": "Email", "password": "Password",
            "wrong_credentials": "The email or password is wrong.",
            "missing_credentials": "Enter your email and password.",
            "throttled": "Too many attempts. Wait a moment and try again.",
            "locked": "Too many failed attempts: sign-in for this account is locked for a few minutes.",
            "expired_form": "The form expired. Please try again.",
            "error_title": "Cannot sign in", "error_intro": "The authorization request is not valid.",
            "signed_out": "You have signed out.", "signed_out_detail": "Your session has ended.",
            "confirm_logout": "Sign out?", "sign_out": "Sign out",
        ],
    ]

    static let templates: [String: String] = [
        "head": """
        <!DOCTYPE html>
        <html lang="{{lang}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{{title}} · Biz Retail</title>
        <style>
        body{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0;display:flex;min-height:100vh;\
        align-items:center;justify-content:center;color:#111827}
        main{background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15);width:20rem}
        h1{font-size:1.4rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem;color:#4b5563}
        label{display:block;margin:.75rem 0 .25rem;font-weight:600}
        input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;\
        border:1px solid #d1d5db;border-radius:.25rem;font-size:1rem}
        button{margin-top:1.25rem;width:100%;padding:.6rem;border:0;border-radius:.25rem;background:#1d4ed8;\
        color:#fff;font-size:1rem;cursor:pointer}
        .alert{background:#fef2f2;color:#991b1b;border:1px solid #fecaca;padding:.5rem;border-radius:.25rem}
        code{font-size:.9rem}
        </style>
        </head>
        <body>
        <main>
        """,
        "foot": """
        </main>
        </body>
        </html>
        """,
        "login": """
        {{>head}}
        <h1>{{t.sign_in}}</h1>
        <p>{{t.continue_to}} <strong>{{client}}</strong></p>
        {{#has_message}}<p class="alert" role="alert">{{message}}</p>{{/has_message}}
        <form method="post" action="/oauth2/authorize">
        {{#fields}}<input type="hidden" name="{{name}}" value="{{value}}">
        {{/fields}}<input type="hidden" name="csrf_token" value="{{csrf}}">
        <label for="email">{{t.email}}</label>
        <input id="email" name="email" type="email" autocomplete="username" required value="{{email}}">
        <label for="password">{{t.password}}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">{{t.sign_in}}</button>
        </form>
        {{>foot}}
        """,
        "error": """
        {{>head}}
        <h1>{{t.error_title}}</h1>
        <p>{{t.error_intro}}</p>
        <p class="alert" role="alert"><code>{{code}}</code>: {{description}}</p>
        {{>foot}}
        """,
        "signed_out": """
        {{>head}}
        <h1>{{t.signed_out}}</h1>
        <p>{{t.signed_out_detail}}</p>
        {{>foot}}
        """,
        "confirm_logout": """
        {{>head}}
        <h1>{{t.confirm_logout}}</h1>
        <form method="post" action="/oauth2/logout">
        {{#fields}}<input type="hidden" name="{{name}}" value="{{value}}">
        {{/fields}}<input type="hidden" name="csrf_token" value="{{csrf}}">
        <button type="submit">{{t.sign_out}}</button>
        </form>
        {{>foot}}
        """,
    ]
}
