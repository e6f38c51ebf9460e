import BizAWS
import BizEvents
import BizServiceKit
import Foundation
import Synchronization

/// Why a secret could not be read; names the variable and where it pointed, never a value.
public struct SecretError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Where the platform's secrets come from. Every secret setting (`BIZ_MASTER_KEY`, `BIZ_DATABASE_URL`, the
/// services' client secrets, `BIZ_SMTP_URL`, `BIZ_KAFKA_PROPERTY_SASL_PASSWORD`, …) is looked up by its variable's
/// name through one provider; none is read from the command line or the configuration file.
public protocol SecretProvider: Sendable {
    /// The secret `variable` names, with where it came from; nil when it is not set.
    func secret(_ variable: String) async throws -> (Secret, SecretSource)?
}

/// The variable itself.
public struct EnvironmentSecrets: SecretProvider {
    let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    public func secret(_ variable: String) async throws -> (Secret, SecretSource)? {
        guard let value = environment[variable], !value.isEmpty else { return nil }
        return (Secret(value), .environment(variable: variable))
    }
}

/// `<variable>_FILE`: the file it names holds the value (one trailing line break is not part of it), as container
/// platforms and Kubernetes mount secrets.
public struct FileSecrets: SecretProvider {
    let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    public func secret(_ variable: String) async throws -> (Secret, SecretSource)? {
        guard let path = environment[variable + "_FILE"], !path.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretError("\(variable)_FILE names \(path), which cannot be read")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw SecretError("\(variable)_FILE names \(path), which is not UTF-8 text")
        }
        // "\r\n" is one Character.
        if text.hasSuffix("\r\n") || text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else { throw SecretError("\(variable)_FILE names \(path), which is empty") }
        return (Secret(text), .file(variable: variable, path: path))
    }
}

/// Resolves `secretsmanager://NAME` (the whole secret string) and `secretsmanager://NAME#key` (one string of a JSON
/// secret) with `GetSecretValue`. The credentials and region are AWS's standard variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` or its `_FILE`, `AWS_SESSION_TOKEN`, `AWS_REGION`); `AWS_ENDPOINT_URL_SECRETS_MANAGER`
/// (or `AWS_ENDPOINT_URL`) points elsewhere than the region's endpoint.
public final class SecretsManagerSecrets: Sendable {
    public static let scheme = "secretsmanager://"
    let client: SecretsManagerClient

    public init(client: SecretsManagerClient) { self.client = client }

    /// The client the environment describes, or an error naming what is missing.
    public static func client(environment: [String: String]) async throws -> SecretsManagerClient {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let keyID = value("AWS_ACCESS_KEY_ID") else {
            throw SecretError("a secretsmanager:// reference needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let files = FileSecrets(environment: environment)
        guard let secretKey = try await files.secret("AWS_SECRET_ACCESS_KEY")?.0.value ?? value("AWS_SECRET_ACCESS_KEY")
        else {
            throw SecretError(
                "a secretsmanager:// reference needs AWS_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY_FILE)")
        }
        let token = try await files.secret("AWS_SESSION_TOKEN")?.0.value ?? value("AWS_SESSION_TOKEN")
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        var endpoint: URL?
        if let given = value("AWS_ENDPOINT_URL_SECRETS_MANAGER") ?? value("AWS_ENDPOINT_URL") {
            guard let url = URL(string: given), url.scheme == "https" || url.scheme == "http", url.host != nil else {
                throw SecretError("AWS_ENDPOINT_URL_SECRETS_MANAGER must be an http(s) URL")
            }
            endpoint = url
        }
        return SecretsManagerClient(
            region: region,
            credentials: AWSCredentials(accessKeyID: keyID, secretAccessKey: secretKey, sessionToken: token),
            endpoint: endpoint)
    }

    /// The value `reference` (`secretsmanager://NAME[#key]`) points at; `variable` names the setting for errors.
    public func resolve(_ reference: String, for variable: String) async throws -> (Secret, SecretSource) {
        let target = reference.dropFirst(Self.scheme.count)
        let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        let key = parts.count == 2 ? String(parts[1]) : nil
        guard !name.isEmpty, key?.isEmpty != true else {
            throw SecretError("\(variable) must be secretsmanager://NAME or secretsmanager://NAME#key")
        }
        let found: (value: String, version: String)
        do {
            found = try await client.secretValue(name)
        } catch let error as AWSError {
            throw SecretError(
                "\(variable): AWS Secrets Manager could not give \(name): \(error.type) (\(error.status))")
        }
        let source = SecretSource.secretsManager(name: name, key: key, version: found.version)
        guard let key else { return (Secret(found.value), source) }
        guard case .object(let object) = try? JSONParser.parse(Array(found.value.utf8)) else {
            throw SecretError("\(variable): the secret \(name) is not a JSON object, so it has no key \(key)")
        }
        guard case .string(let value)? = object[key], !value.isEmpty else {
            throw SecretError("\(variable): the secret \(name) has no text at key \(key)")
        }
        return (Secret(value), source)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}

/// What a ``PlatformSecrets/refresh()`` found: the secrets whose value changed, and those it could not read (why,
/// never a value).
public struct SecretRefresh: Sendable {
    public var changed: [String: Secret] = [:]
    public var failed: [String: String] = [:]
}

/// The platform's provider: `<variable>_FILE` first, else the variable; a value that is a `secretsmanager://`
/// reference is then resolved through AWS Secrets Manager. Every secret read is kept, so a lookup after the first
/// costs a dictionary read; ``refresh()`` reads them all again (rotation).
public final class PlatformSecrets: SecretProvider {
    let environment: [String: String]
    let providers: [any SecretProvider]
    private let secretsManager = Mutex<SecretsManagerSecrets?>(nil)
    private let cache = Mutex<[String: (Secret, SecretSource)]>([:])

    /// - Parameter seed: secrets already read (the configuration's), kept as if this provider had read them.
    public init(environment: [String: String], seed: [String: (Secret, SecretSource)] = [:]) {
        self.environment = environment
        self.providers = [FileSecrets(environment: environment), EnvironmentSecrets(environment: environment)]
        cache.withLock { $0 = seed }
    }

    public func secret(_ variable: String) async throws -> (Secret, SecretSource)? {
        if let cached = cached(variable) { return cached }
        guard let found = try await read(variable) else { return nil }
        cache.withLock { $0[variable] = found }
        return found
    }

    /// The secret as last read, without any I/O.
    public func cached(_ variable: String) -> (Secret, SecretSource)? {
        cache.withLock { $0[variable] }
    }

    /// Reads every secret read so far again. A secret that cannot be read now (its file gone, Secrets Manager
    /// unreachable) keeps its last value and is named among the failures.
    public func refresh() async -> SecretRefresh {
        var result = SecretRefresh()
        for (variable, old) in cache.withLock({ $0 }) {
            do {
                guard let new = try await read(variable) else {
                    result.failed[variable] = "\(variable) is no longer set; its last value stays in force"
                    continue
                }
                if new.0 != old.0 { result.changed[variable] = new.0 }
                cache.withLock { $0[variable] = new }
            } catch {
                result.failed[variable] = (error as? SecretError)?.description ?? "\(variable): \(type(of: error))"
            }
        }
        return result
    }

    private func read(_ variable: String) async throws -> (Secret, SecretSource)? {
        var found: (Secret, SecretSource)?
        for provider in providers {
            found = try await provider.secret(variable)
            if found != nil { break }
        }
        guard let secret = found?.0, secret.value.hasPrefix(SecretsManagerSecrets.scheme) else { return found }
        guard !variable.hasPrefix("AWS_") else {
            throw SecretError("\(variable) cannot be a secretsmanager:// reference: it is how the platform reaches AWS")
        }
        return try await secretsManagerSecrets().resolve(secret.value, for: variable)
    }

    private func secretsManagerSecrets() async throws -> SecretsManagerSecrets {
        if let existing = secretsManager.withLock({ $0 }) { return existing }
        let made = SecretsManagerSecrets(client: try await SecretsManagerSecrets.client(environment: environment))
        let (chosen, spare) = secretsManager.withLock { current -> (SecretsManagerSecrets, SecretsManagerSecrets?) in
            if let current { return (current, made) }
            current = made
            return (made, nil)
        }
        await spare?.shutdown()
        return chosen
    }

    public func shutdown() async {
        await secretsManager.withLock { $0 }?.shutdown()
    }
}
