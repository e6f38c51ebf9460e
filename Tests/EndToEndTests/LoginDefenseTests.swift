import BizAuth
import BizEvents
import BizTesting
import Foundation
import Testing

extension GatewayEndToEndTests {
    @Test(
        "failed logins wait longer and longer, then lock the account (an audited event) until it runs out or an admin releases it"
    )
    func loginLockout() async throws {
        try await withEmbedded(environment: [
            "BIZ_LOGIN_DELAY_AFTER": "2", "BIZ_LOGIN_LOCKOUT_AFTER": "4", "BIZ_LOGIN_LOCKOUT_SECONDS": "4",
            "BIZ_LOGIN_ADDRESS_DELAY_AFTER": "1000",
        ]) { system, https, admin in
            let email = "caixa@loja.example"
            let password = "uma senha bem longa 7"
            let created = try await https.json(
                "POST", "/v1/users",
                ["email": .string(email), "name": "Caixa", "password": .string(password), "roles": ["viewer"]],
                bearer: admin)
            #expect(created.status == 201, "\(created.text)")
            let userID = try #require(created.json?["public_id"]?.stringValue)

            /// Fails until the account locks: two free failures, then waits of 1 s and 2 s.
            func lock() async throws {
                for _ in 0..<2 {
                    #expect(try await login(https, system, email, "not it at all").status == 400)
                }
                let early = try await login(https, system, email, "not it at all")
                #expect(early.status == 429)
                #expect(early.headers["retry-after"] == "1")
                #expect(early.json?["error"]?.stringValue == "slow_down")
                try await Task.sleep(for: .milliseconds(1_100))
                #expect(try await login(https, system, email, "not it at all").status == 400)
                #expect(try await login(https, system, email, password).headers["retry-after"] == "2")
                try await Task.sleep(for: .milliseconds(2_100))
                #expect(try await login(https, system, email, "not it at all").status == 400)
                // Locked: the right password waits too.
                let locked = try await login(https, system, email, password)
                #expect(locked.status == 429)
                #expect(locked.json?["error_description"]?.stringValue?.contains("locked") == true)
            }

            try await lock()
            // The login page says so too, in the user's language.
            let flow = try await browserClient(https, admin)
            let browser = TestBrowser(https, directory: system.dataDirectory, language: "pt-BR")
            let page = try await browser.get(flow.path())
            let form = try await browser.post(
                "/oauth2/authorize", TestBrowser.formFields(page.text) + [("email", email), ("password", password)])
            #expect(form.status == 429)
            #expect(form.text.contains("bloqueado"))

            // An admin releases it.
            let unlocked = try await https.request("POST", "/v1/users/\(userID)/unlock", bearer: admin)
            #expect(unlocked.status == 200, "\(unlocked.text)")
            #expect(try await login(https, system, email, password).status == 200)

            // Locked again, it releases itself when the lockout runs out.
            try await lock()
            try await Task.sleep(for: .milliseconds(4_100))
            #expect(try await login(https, system, email, password).status == 200)

            // Both lockouts and the release are in the user's audited history.
            var types: [String] = []
            try await BizRetailProcess.eventually("user.locked twice and user.unlocked audited") {
                let versions = try await https.request(
                    "GET", "/v1/audit/entities/user/\(userID)/versions", bearer: admin)
                types = versions.json?["items"]?.arrayValue?.compactMap { $0["event_type"]?.stringValue } ?? []
                return types.filter { $0 == "user.locked" }.count == 2 && types.contains("user.unlocked")
            }
            let lockEvent = try await https.request(
                "GET", "/v1/audit/events?event_type=user.locked", bearer: admin)
            let first = try #require(lockEvent.json?["items"]?.arrayValue?.first)
            #expect(first["metadata"]?["owner_type"]?.stringValue == "service")
            #expect(first["metadata"]?["owner_id"]?.stringValue == ServiceAccount.publicID(of: "identity"))
            #expect(first["payload"]?["failed_logins"]?.integerValue == 4)
            #expect(first["payload"]?["locked_until"]?.stringValue != nil)
        }
    }

    @Test("a new password has 12 characters or more, is not the email, and is not a common one")
    func passwordPolicy() async throws {
        try await withEmbedded { _, https, admin in
            for (password, status, problem) in [
                ("curta-1", 400, "12 to 72"), ("Password2026!", 422, "common"), ("senha12345678", 422, "common"),
                ("novo.usuario@loja.example", 422, "email"), ("zzzzzzzzzzzzzz", 422, "distinct"),
            ] {
                let refused = try await https.json(
                    "POST", "/v1/users",
                    [
                        "email": "novo.usuario@loja.example", "name": "Novo", "password": .string(password),
                        "roles": ["viewer"],
                    ], bearer: admin)
                #expect(refused.status == status, "\(password): \(refused.text)")
                #expect(refused.json?["field"]?.stringValue == "password")
                #expect(refused.json?["detail"]?.stringValue?.contains(problem) == true, "\(refused.text)")
                #expect(!refused.text.contains(password), "the answer does not repeat the password")
            }
            let accepted = try await https.json(
                "POST", "/v1/users",
                [
                    "email": "novo.usuario@loja.example", "name": "Novo", "password": "cavalo correto bateria",
                    "roles": ["viewer"],
                ],
                bearer: admin)
            #expect(accepted.status == 201, "\(accepted.text)")
        }
    }

    @Test("a wrong password for a registered email and for an unknown one take the same time, over many attempts")
    func loginTiming() async throws {
        try await withEmbedded(environment: [
            "BIZ_LOGIN_DELAY_AFTER": "100000", "BIZ_LOGIN_LOCKOUT_AFTER": "100000",
            "BIZ_LOGIN_ADDRESS_DELAY_AFTER": "100000",
        ]) { system, https, admin in
            let created = try await https.json(
                "POST", "/v1/users",
                [
                    "email": "conhecida@loja.example", "name": "Conhecida", "password": "uma senha bem longa 8",
                    "roles": ["viewer"],
                ],
                bearer: admin)
            #expect(created.status == 201)
            // One kept-alive TLS connection, the emails alternating, so neither gets a warmer path.
            let result = try await Self.python(
                """
                import base64, http.client, json, ssl, statistics, time, urllib.parse
                context = ssl.create_default_context(cafile='\(https.caFile)')
                url = urllib.parse.urlparse('\(https.baseURL)')
                connection = http.client.HTTPSConnection(url.hostname, url.port, context=context)
                basic = base64.b64encode(b'\(system.bootstrapCredential("client_id")!):\(system.bootstrapCredential("client_secret")!)').decode()
                times = {'known': [], 'unknown': []}
                answers = set()
                for round in range(36):
                    order = [('known', 'conhecida@loja.example'), ('unknown', f'ninguem{round}@loja.example')]
                    for name, email in (order if round % 2 else reversed(order)):
                        body = urllib.parse.urlencode({'grant_type': 'password', 'username': email, 'password': 'errada-errada-1'})
                        start = time.perf_counter()
                        connection.request('POST', '/oauth2/token', body, {'Content-Type': 'application/x-www-form-urlencoded', 'Authorization': 'Basic ' + basic})
                        response = connection.getresponse()
                        answer = response.read()
                        elapsed = time.perf_counter() - start
                        answers.add((response.status, answer))
                        if round >= 6:
                            times[name].append(elapsed)
                print(json.dumps({'known': statistics.median(times['known']), 'unknown': statistics.median(times['unknown']), 'answers': len(answers), 'samples': len(times['known'])}))
                """)
            try #require(result.status == 0, "\(result.error)")
            let report = try #require(try? JSONParser.parse(Array(result.output.utf8)))
            guard case .double(let known)? = report["known"], case .double(let unknown)? = report["unknown"] else {
                Issue.record("no medians: \(result.output)")
                return
            }
            // One answer for both (the same status and body), and medians within 15 % (and 5 ms) of each other.
            #expect(report["answers"]?.integerValue == 1)
            #expect(
                abs(known - unknown) <= max(0.005, 0.15 * max(known, unknown)),
                "median known \(known) s, unknown \(unknown) s")
            print("login timing: median known \(known) s, unknown \(unknown) s over \(report["samples"] ?? .null)")
        }
    }
}
