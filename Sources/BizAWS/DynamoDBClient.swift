import AsyncHTTPClient
import BizEvents
import Foundation
import NIOCore
import NIOHTTP1

/// An AWS JSON API (`x-amz-json-1.0` or `1.1`: DynamoDB, Secrets Manager) over HTTPS, signed with SigV4: each call
/// POSTs `{"…"}` to `/` with `x-amz-target: <prefix>.<operation>`.
public final class AWSJSONClient: Sendable {
    public let endpoint: URL
    let signer: SigV4Signer
    let http: HTTPClient
    let timeout: TimeAmount
    let targetPrefix: String
    let contentType: String

    public init(
        service: String, targetPrefix: String, jsonVersion: String, region: String, credentials: AWSCredentials,
        endpoint: URL, timeout: Duration = .seconds(10)
    ) {
        self.endpoint = endpoint
        self.signer = SigV4Signer(credentials: credentials, region: region, service: service)
        self.http = HTTPClient(eventLoopGroupProvider: .singleton)
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000)
        self.targetPrefix = targetPrefix
        self.contentType = "application/x-amz-json-\(jsonVersion)"
    }

    /// Calls `operation` with `request`; returns the response body, or throws the service's error response.
    public func call(_ operation: String, _ request: JSONValue) async throws -> JSONValue {
        let body = request.canonicalBytes()
        let host = endpoint.port.map { "\(endpoint.host ?? ""):\($0)" } ?? (endpoint.host ?? "")
        let headers: [(String, String)] = [
            ("content-type", contentType), ("x-amz-target", "\(targetPrefix).\(operation)"),
        ]
        var outgoing = HTTPClientRequest(url: endpoint.absoluteString)
        outgoing.method = .POST
        for (name, value) in headers + signer.sign(method: "POST", host: host, headers: headers, body: body) {
            outgoing.headers.add(name: name, value: value)
        }
        outgoing.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(outgoing, timeout: timeout)
            bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        } catch {
            throw AWSError(
                type: "Unavailable", message: "\(signer.service) unreachable: \(type(of: error))", status: 0)
        }
        let json = (try? JSONParser.parse(Array(buffer: bytes))) ?? .null
        guard response.status == .ok else {
            // "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" → the part after '#'.
            let type = json["__type"]?.stringValue.map { String($0.split(separator: "#").last ?? "") } ?? "Unknown"
            throw AWSError(
                type: type, message: json["message"]?.stringValue ?? json["Message"]?.stringValue ?? "",
                status: Int(response.status.code),
                reasons: json["CancellationReasons"]?.arrayValue?.map {
                    $0["Code"]?.stringValue ?? "None"
                } ?? [])
        }
        return json
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }
}

/// DynamoDB's HTTP JSON API (protocol `x-amz-json-1.0`). Request and response bodies are `JSONValue`s in DynamoDB's
/// wire format (`{"S": "…"}`, `{"N": "1"}`, …).
public final class DynamoDBClient: Sendable {
    let client: AWSJSONClient

    public var endpoint: URL { client.endpoint }

    /// `endpoint` defaults to the region's public one; a local server (moto) is given explicitly.
    public init(region: String, credentials: AWSCredentials, endpoint: URL? = nil, timeout: Duration = .seconds(10)) {
        client = AWSJSONClient(
            service: "dynamodb", targetPrefix: "DynamoDB_20120810", jsonVersion: "1.0", region: region,
            credentials: credentials, endpoint: endpoint ?? URL(string: "https://dynamodb.\(region).amazonaws.com")!,
            timeout: timeout)
    }

    /// Calls `operation` (`PutItem`, `TransactWriteItems`, …) with `request`; returns the response body.
    public func call(_ operation: String, _ request: JSONValue) async throws -> JSONValue {
        try await client.call(operation, request)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }
}

/// DynamoDB's errors are AWS's.
public typealias DynamoDBError = AWSError

/// An AWS error response: its type (`ConditionalCheckFailedException`, `ResourceNotFoundException`, …).
public struct AWSError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var message: String
    public var status: Int
    /// For a cancelled transaction: each item's reason (`None`, `ConditionalCheckFailed`, …).
    public var reasons: [String]

    public init(type: String, message: String, status: Int, reasons: [String] = []) {
        self.type = type
        self.message = message
        self.status = status
        self.reasons = reasons
    }

    /// DynamoDB refused the request's data itself (an item over 400 KB, an invalid attribute): the same request can
    /// never succeed.
    public var refusesData: Bool { type == "ValidationException" }

    /// Throttling, server errors and unreachable endpoints: worth a retry.
    public var isTransient: Bool {
        status == 0 || status >= 500 || type == "ProvisionedThroughputExceededException"
            || type == "ThrottlingException" || type == "RequestLimitExceeded"
            || (type == "TransactionCanceledException" && reasons.contains("TransactionConflict"))
    }

    public var description: String { "AWS \(type) (\(status))" }
}

extension JSONValue {
    /// DynamoDB attribute values.
    public static func attrS(_ value: String) -> JSONValue { ["S": .string(value)] }
    public static func attrN(_ value: Int64) -> JSONValue { ["N": .string(String(value))] }
    public static func attrBool(_ value: Bool) -> JSONValue { ["BOOL": .bool(value)] }
    public static func attrSS(_ values: [String]) -> JSONValue { ["SS": .array(values.map { .string($0) })] }

    /// The string of an `{"S": …}` attribute.
    public var s: String? { self["S"]?.stringValue }
    /// The number of an `{"N": …}` attribute.
    public var n: Int64? { self["N"]?.stringValue.flatMap { Int64($0) } }
}
