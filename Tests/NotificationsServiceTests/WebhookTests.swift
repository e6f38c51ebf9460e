import Foundation
import NotificationsService
import Testing

@Suite("Standard Webhooks signatures")
struct WebhookSignatureTests {
    /// The specification's own example (standard-webhooks, "Signature scheme").
    let secret = WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!
    let body = Data(#"{"test": 2432232314}"#.utf8)

    @Test("the specification's example signs to its published signature, and verifies")
    func specificationExample() {
        let signed = WebhookSignature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body, secrets: [secret])
        #expect(signed.signatures == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(
            signed.headers.map(\.0) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(
            WebhookSignature.verify(
                id: signed.id, timestamp: signed.timestamp, signatures: signed.signatures, body: body,
                secret: secret, now: 1_614_265_330 + 60))
    }

    @Test("a changed body, id or timestamp, another secret, or a stale timestamp does not verify")
    func refusals() {
        let signed = WebhookSignature(id: "msg_1", timestamp: 1_000_000, body: body, secrets: [secret])
        func verifies(
            id: String = "msg_1", timestamp: Int64 = 1_000_000, body: Data? = nil, secret: WebhookSecret? = nil,
            now: Int64 = 1_000_010
        ) -> Bool {
            WebhookSignature.verify(
                id: id, timestamp: timestamp, signatures: signed.signatures, body: body ?? self.body,
                secret: secret ?? self.secret, now: now)
        }
        #expect(verifies())
        #expect(!verifies(body: Data(#"{"test": 2432232315}"#.utf8)))
        #expect(!verifies(id: "msg_2"))
        #expect(!verifies(timestamp: 1_000_001))
        #expect(!verifies(secret: .generate()))
        #expect(!verifies(now: 1_000_000 + 301))
        #expect(!verifies(now: 1_000_000 - 301))
    }

    @Test("during a rotation both secrets sign, and either verifies; secrets are never printed")
    func rotation() throws {
        let next = WebhookSecret.generate()
        let signed = WebhookSignature(id: "msg_r", timestamp: 42, body: body, secrets: [next, secret])
        #expect(signed.signatures.split(separator: " ").count == 2)
        for key in [next, secret] {
            #expect(
                WebhookSignature.verify(
                    id: "msg_r", timestamp: 42, signatures: signed.signatures, body: body, secret: key, now: 42))
        }
        #expect(WebhookSecret(next.text) == next)
        #expect(next.text.hasPrefix("whsec_"))
        #expect(!"\(next)".contains(next.text.dropFirst(6)))
        #expect(WebhookSecret("whsec_c2hvcnQ=") == nil)
        #expect(WebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == nil)
    }
}

@Suite("Webhook destinations")
struct DestinationPolicyTests {
    func addresses(_ texts: String...) -> [IPAddress] { texts.map { IPAddress($0)! } }

    @Test("loopback, private, link-local, shared, multicast and documentation addresses are refused, also inside IPv6")
    func nonPublic() {
        let policy = DestinationPolicy()
        for text in [
            "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
            "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "::1", "::", "fe80::1",
            "fd00::1", "ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
            "[::1]",
        ] {
            #expect(!policy.allows(host: "hook.example", resolvedTo: addresses(text)), "\(text)")
        }
        for text in ["93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            #expect(policy.allows(host: "hook.example", resolvedTo: addresses(text)), "\(text)")
        }
        // Every address a name resolves to must pass (one private answer among public ones is DNS rebinding).
        #expect(!policy.allows(host: "hook.example", resolvedTo: addresses("8.8.8.8", "127.0.0.1")))
        #expect(!policy.allows(host: "hook.example", resolvedTo: []))
    }

    @Test("BIZ_WEBHOOK_ALLOWED_HOSTS admits listed names and networks, and names a malformed item")
    func allowList() throws {
        let policy = try DestinationPolicy(allowList: " localhost, 127.0.0.0/8 ,::1, receiver.test ")
        #expect(policy.allows(host: "LOCALHOST", resolvedTo: []))
        #expect(policy.allows(host: "hook.example", resolvedTo: addresses("127.0.0.1")))
        #expect(policy.allows(host: "hook.example", resolvedTo: addresses("::1")))
        #expect(!policy.allows(host: "hook.example", resolvedTo: addresses("10.0.0.1")))
        #expect(policy.allows(host: "receiver.test", resolvedTo: addresses("192.168.0.9")))
        for bad in ["10.0.0.0/33", "300.1.1.1/8", "bad host", "::1/129"] {
            let error = #expect(throws: DestinationPolicyError.self) { try DestinationPolicy(allowList: bad) }
            #expect(error?.description.contains("BIZ_WEBHOOK_ALLOWED_HOSTS") == true)
        }
        #expect(IPNetwork("172.16.0.0/12")!.contains(IPAddress("172.20.1.1")!))
        #expect(!IPNetwork("172.16.0.0/12")!.contains(IPAddress("172.32.0.1")!))
        #expect(IPAddress("::ffff:127.0.0.1")!.description == "::ffff:127.0.0.1")
    }
}
