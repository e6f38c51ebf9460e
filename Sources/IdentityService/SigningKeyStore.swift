import BizAuth
import BizEvents
import BizOutbox
import BizStorage
import Crypto
import Foundation
import JWTKit
import Logging
import SQLKit
import ServiceLifecycle

/// The ES256 signing keys: created on first use, stored with the private key sealed by the master key, and rotated
/// by ``rotate()`` (`biz-retail identity rotate-keys`, or on a schedule).
///
/// Tokens are signed with the newest key. The JWK Set serves it with the keys retired within
/// ``previousKeysKept`` (and always the last one retired), so a token signed before a rotation verifies until it
/// expires. Another Identity process's rotation is picked up within ``refreshInterval``.
///
/// With an outbox, every new key emits `signing_key.created` (its kid as `public_id`, and the kid it replaces; never
/// key material), in the same transaction: owned by whoever rotated (an operator), or by the service itself (the
/// first key, the schedule).
public actor SigningKeyStore {
    let store: any SQLStore
    let masterKey: MasterKey
    let audit: (outbox: Outbox, events: EventFactory)?
    private var current: (kid: String, key: ES256PrivateKey)?
    private var loadedAt: ContinuousClock.Instant?
    private var signer = JWTKeyCollection()
    /// Longer than any token this issuer signs lives (15 minutes), with a margin for clocks.
    static let previousKeysKept: TimeInterval = 20 * 60
    static let refreshInterval: Duration = .seconds(30)

    public init(store: any SQLStore, masterKey: MasterKey) {
        self.store = store
        self.masterKey = masterKey
        self.audit = nil
    }

    public init(outbox: Outbox, events: EventFactory, masterKey: MasterKey) {
        self.store = outbox.store
        self.masterKey = masterKey
        self.audit = (outbox, events)
    }

    /// A stored key as read: its private key still sealed, opened only for the keys in use (a key set rotated daily
    /// for years holds thousands).
    struct StoredKey {
        var kid: String
        var sealed: Data
        var createdAt: String
        var retiredAt: String?
    }

    /// The JWK Set last served, for ``refreshInterval``: the public `/oauth2/jwks` does not reach the database.
    private var servedSet: (json: String, activeKid: String, at: ContinuousClock.Instant)?

    /// The active key, creating one when none exists.
    func active() async throws -> (kid: String, key: ES256PrivateKey) {
        if let current, let loadedAt, ContinuousClock.now - loadedAt < Self.refreshInterval { return current }
        let keys = try await storedKeys()
        guard let newest = keys.first(where: { $0.retiredAt == nil }) else {
            _ = try await rotate()
            return current!
        }
        if current?.kid != newest.kid { try await use(keys) }
        loadedAt = .now
        return current!
    }

    /// The key's age in seconds (for the rotation schedule).
    func activeKeyAge() async throws -> TimeInterval {
        let kid = try await active().kid
        let created = try await storedKeys().first { $0.kid == kid }?.createdAt
        let milliseconds = created.flatMap(EventTimestamp.init(rfc3339:))?.millisecondsSinceEpoch ?? 0
        return Double(EventTimestamp.now().millisecondsSinceEpoch - milliseconds) / 1000
    }

    /// A new signing key; the one before is retired (it still verifies, and is served, for ``previousKeysKept``).
    /// `caller` rotated it (nil: the service on its own). Returns the new key's id.
    @discardableResult
    public func rotate(caller: Caller? = nil) async throws -> String {
        let privateKey = P256.Signing.PrivateKey()
        let kid = EventID.generate()
        let sealed = try masterKey.seal(privateKey.rawRepresentation)
        let now = EventTimestamp.now().rfc3339
        let audit = self.audit
        try await store.transaction { database in
            let replaced = try await database.raw(
                "SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC"
            ).all().map { try $0.decode(column: "kid", as: String.self) }
            try await database.raw(
                "UPDATE signing_keys SET retired_at = \(bind: now) WHERE retired_at IS NULL"
            ).run()
            try await database.raw(
                """
                INSERT INTO signing_keys (kid, algorithm, sealed_private_key, created_at)
                VALUES (\(bind: kid), 'ES256', \(bind: sealed), \(bind: now))
                """
            ).run()
            guard let audit else { return }
            let payload: [String: JSONValue] = [
                "public_id": .string(kid), "algorithm": "ES256", "created_at": .string(now),
                "replaces": replaced.first.map(JSONValue.string) ?? .null,
            ]
            let type = EventType(entity: "signing_key", verb: .created)
            let event =
                caller.map { audit.events.event(type, payload: payload, ownershipID: kid, caller: $0) }
                ?? audit.events.systemEvent(type, payload: payload, ownershipID: kid)
            try await Outbox.enqueue([event], on: database)
        }
        audit?.outbox.signal.signal()
        try await use(try await storedKeys())
        loadedAt = .now
        return kid
    }

    func sign(_ claims: some JWTPayload) async throws -> String {
        let (kid, _) = try await active()
        return try await signer.sign(claims, kid: JWKIdentifier(string: kid))
    }

    /// Checks a token's signature against this issuer's keys and decodes it (the payload's own `verify` decides
    /// what else is checked).
    func verify<Payload: JWTPayload>(_ token: String, as type: Payload.Type) async throws -> Payload {
        _ = try await active()
        return try await signer.verify(token, as: type)
    }

    /// The public keys as a JWK Set (RFC 7517): the active key first, then the ones still served.
    public func jwks() async throws -> String {
        let activeKid = try await active().kid
        if let servedSet, servedSet.activeKid == activeKid, ContinuousClock.now - servedSet.at < Self.refreshInterval {
            return servedSet.json
        }
        let keys = try served(try await storedKeys())
        let jwks: [JSONValue] = try keys.map { stored in
            let key = try ES256PrivateKey(backing: try open(stored))
            guard let parameters = key.publicKey.parameters else {
                throw IdentityError.misconfigured("no public key")
            }
            return [
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": .string(stored.kid),
                "x": .string(parameters.x), "y": .string(parameters.y),
            ]
        }
        let json = JSONValue.object(["keys": .array(jwks)]).canonicalString()
        servedSet = (json, activeKid, .now)
        return json
    }

    // MARK: - Stored keys

    /// Every key, newest first, sealed.
    private func storedKeys() async throws -> [StoredKey] {
        let rows = try await store.read { database in
            try await database.raw(
                "SELECT kid, sealed_private_key, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid DESC"
            ).all()
        }
        return try rows.map { row in
            StoredKey(
                kid: try row.decode(column: "kid", as: String.self),
                sealed: try row.decode(column: "sealed_private_key", as: Data.self),
                createdAt: try row.decode(column: "created_at", as: String.self),
                retiredAt: try row.decode(column: "retired_at", as: String?.self))
        }
    }

    /// The key's private key, unsealed.
    private func open(_ stored: StoredKey) throws -> P256.Signing.PrivateKey {
        do {
            return try P256.Signing.PrivateKey(rawRepresentation: try masterKey.open(stored.sealed))
        } catch {
            throw IdentityError.misconfigured(
                "the signing key cannot be decrypted: is BIZ_MASTER_KEY the key it was created with?")
        }
    }

    /// The active key and the retired ones still served.
    private func served(_ keys: [StoredKey]) throws -> [StoredKey] {
        let cutoff = EventTimestamp(
            millisecondsSinceEpoch: EventTimestamp.now().millisecondsSinceEpoch - Int64(Self.previousKeysKept * 1000)
        ).rfc3339
        let active = keys.filter { $0.retiredAt == nil }.prefix(1)
        let retired = keys.filter { $0.retiredAt != nil }.sorted { $0.retiredAt! > $1.retiredAt! }
        return Array(active)
            + retired.enumerated().filter { $0.offset == 0 || $0.element.retiredAt! >= cutoff }
            .map(\.element)
    }

    /// Signs with the newest key and verifies with every served one.
    private func use(_ keys: [StoredKey]) async throws {
        guard let newest = keys.first(where: { $0.retiredAt == nil }) else { return }
        let collection = JWTKeyCollection()
        for stored in try served(keys) {
            await collection.add(
                ecdsa: try ES256PrivateKey(backing: try open(stored)), kid: JWKIdentifier(string: stored.kid))
        }
        signer = collection
        current = (newest.kid, try ES256PrivateKey(backing: try open(newest)))
    }
}

/// Rotates the signing key when the active one is older than `interval` (`BIZ_SIGNING_KEY_ROTATION_DAYS`), checking
/// hourly.
struct KeyRotationSchedule: Service {
    let keys: SigningKeyStore
    let interval: TimeInterval
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                if try await keys.activeKeyAge() >= interval {
                    let kid = try await keys.rotate()
                    logger.notice("signing key rotated on schedule", metadata: ["kid": "\(kid)"])
                }
            } catch {
                logger.error(
                    "the scheduled signing key rotation failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3_600)) }
        }
    }
}
