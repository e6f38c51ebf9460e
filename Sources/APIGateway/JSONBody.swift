import BizAuth
import BizEvents
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A JSON object from a request body, read field by field so every error names its field.
struct JSONBody {
    var object: [String: JSONValue]
    /// `address.` for the fields of a nested object, so errors name the whole path.
    var prefix = ""

    static func read(_ request: Request, context: GatewayContext, allowed: Set<String>) async throws -> JSONBody {
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json"),
            !type.lowercased().hasPrefix("application/merge-patch+json")
        {
            throw Problem(.unsupportedMediaType, "the body must be application/json")
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(buffer.readableBytesView))
        } catch {
            throw Problem.badRequest("the body is not valid JSON (\(error))", field: "body")
        }
        guard case .object(let object) = value else {
            throw Problem.badRequest("the body must be a JSON object", field: "body")
        }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem.badRequest("\(unknown) is not a field of this resource", field: unknown)
        }
        return JSONBody(object: object)
    }

    func has(_ field: String) -> Bool { object[field] != nil }

    /// A nested object's fields (only `allowed` ones); `nil` when absent or `null`.
    func object(_ name: String, allowed: Set<String>) throws -> JSONBody? {
        let field = prefix + name
        switch object[name] {
        case .none, .null: return nil
        case .object(let nested):
            if let unknown = nested.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw Problem.badRequest("\(field).\(unknown) is not a field of \(field)", field: "\(field).\(unknown)")
            }
            return JSONBody(object: nested, prefix: field + ".")
        case .some(let other):
            throw Problem.badRequest("\(field) must be an object, not \(other.typeName)", field: field)
        }
    }

    /// A string field; `nil` when absent. `null` is refused unless `nullable` (then it reads as "").
    func string(_ name: String, required: Bool = false, nullable: Bool = false) throws -> String? {
        let field = prefix + name
        switch object[name] {
        case .none:
            if required { throw Problem.badRequest("\(field) is required", field: field) }
            return nil
        case .string(let value): return value
        case .null where nullable: return ""
        case .null: throw Problem.badRequest("\(field) may not be null", field: field)
        case .some(let other):
            throw Problem.badRequest("\(field) must be a string, not \(other.typeName)", field: field)
        }
    }

    /// `tenant_id`: `platform` or a tenant's public_id; `""` (the caller's own) when absent or null.
    func tenant() throws -> String {
        guard let tenant = try string("tenant_id", nullable: true), object["tenant_id"] != .null else { return "" }
        return try checkedTenant(tenant, field: prefix + "tenant_id")
    }

    /// A boolean field; `nil` when absent or `null`.
    func bool(_ name: String) throws -> Bool? {
        let field = prefix + name
        switch object[name] {
        case .none, .null: return nil
        case .bool(let value): return value
        case .some(let other):
            throw Problem.badRequest("\(field) must be true or false, not \(other.typeName)", field: field)
        }
    }

    /// A whole-number field; `nil` when absent or `null`.
    func integer(_ name: String) throws -> Int64? {
        let field = prefix + name
        switch object[name] {
        case .none, .null: return nil
        case .integer(let value): return value
        // JSON Schema's integer is any number without a fraction: `5.0` and `5e3` are whole numbers too.
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int64(value)
        case .some(let other):
            throw Problem.badRequest("\(field) must be a whole number, not \(other.typeName)", field: field)
        }
    }

    /// An array of objects (only `allowed` fields in each); `nil` when absent, `[]` when `null`.
    func objects(_ name: String, allowed: Set<String>) throws -> [JSONBody]? {
        let field = prefix + name
        switch object[name] {
        case .none: return nil
        case .null: return []
        case .array(let values):
            return try values.enumerated().map { index, value in
                let place = "\(field)[\(index)]"
                guard case .object(let nested) = value else {
                    throw Problem.badRequest("\(place) must be an object, not \(value.typeName)", field: place)
                }
                if let unknown = nested.keys.sorted().first(where: { !allowed.contains($0) }) {
                    throw Problem.badRequest(
                        "\(place).\(unknown) is not a field of \(field)", field: "\(place).\(unknown)")
                }
                return JSONBody(object: nested, prefix: place + ".")
            }
        case .some(let other):
            throw Problem.badRequest("\(field) must be an array, not \(other.typeName)", field: field)
        }
    }

    /// An object whose keys are data (a map), each value an object of `allowed` fields or `null`; `nil` when absent.
    func map(_ name: String, allowed: Set<String>) throws -> [String: JSONBody?]? {
        let field = prefix + name
        switch object[name] {
        case .none: return nil
        case .null: throw Problem.badRequest("\(field) may not be null", field: field)
        case .object(let entries):
            var map: [String: JSONBody?] = [:]
            for (key, value) in entries {
                let place = "\(field).\(key)"
                switch value {
                case .null: map[key] = .some(nil)
                case .object(let nested):
                    if let unknown = nested.keys.sorted().first(where: { !allowed.contains($0) }) {
                        throw Problem.badRequest("\(place).\(unknown) is not a field", field: "\(place).\(unknown)")
                    }
                    map[key] = JSONBody(object: nested, prefix: place + ".")
                default:
                    throw Problem.badRequest("\(place) must be an object, not \(value.typeName)", field: place)
                }
            }
            return map
        case .some(let other):
            throw Problem.badRequest("\(field) must be an object, not \(other.typeName)", field: field)
        }
    }

    func strings(_ name: String) throws -> [String]? {
        let field = prefix + name
        switch object[name] {
        case .none: return nil
        case .null: return []
        case .array(let values):
            return try values.map { value in
                guard case .string(let text) = value else {
                    throw Problem.badRequest("\(field) must be an array of strings", field: field)
                }
                return text
            }
        case .some(let other):
            throw Problem.badRequest("\(field) must be an array, not \(other.typeName)", field: field)
        }
    }
}

func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: value.canonicalBytes())))
}

/// A list's page: `{"items": […], "next_page_token": "…" | null}`.
/// A resource with a secret shown once (`name`: the secret, when there is one): in this body only, which no cache may
/// keep; `location` when it was just made.
func secretShownResponse(
    _ json: JSONValue, secret: (name: String, value: String)?, status: HTTPResponse.Status, location: String?,
    version: Int64? = nil
) -> Response {
    var json = json
    if case .object(var object) = json, let secret, !secret.value.isEmpty {
        object[secret.name] = .string(secret.value)
        json = .object(object)
    }
    var headers: HTTPFields = [.cacheControl: "no-store"]
    if let version { headers[.eTag] = "\"\(version)\"" }
    if status == .created, let location { headers[.location] = location }
    return jsonResponse(json, status: status, headers: headers)
}

func pageResponse(_ items: [JSONValue], next: String) -> Response {
    var body: [String: JSONValue] = ["items": .array(items)]
    body["next_page_token"] = next.isEmpty ? .null : .string(next)
    return jsonResponse(.object(body))
}

extension Request {
    /// A query parameter, decoded as HTML forms encode it (`+` is a space, then percent-escapes); the first when
    /// repeated.
    func query(_ name: String) -> String? {
        guard let query = uri.query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            if decoded(parts[0]) == name { return parts.count > 1 ? decoded(parts[1]) : "" }
        }
        return nil
    }

    /// `page_size` and `page_token` query parameters.
    func page() throws -> (size: Int32, token: String) {
        let size: Int32
        if let text = query("page_size") {
            guard let value = Int32(text), value > 0 else {
                throw Problem.badRequest("page_size must be a positive integer", field: "page_size")
            }
            size = value
        } else {
            size = 0
        }
        return (size, query("page_token") ?? "")
    }

    /// The `tenant_id` query parameter: `platform` or a tenant's public_id (`""` when absent).
    func tenantFilter() throws -> String {
        guard let tenant = query("tenant_id") else { return "" }
        return try checkedTenant(tenant, field: "tenant_id")
    }

    /// `If-Match: "<version>"` (or `W/"<version>"`) as an expected version; an empty header is none.
    func expectedVersion() throws -> Int64? {
        guard let header = headers[.ifMatch], !header.isEmpty else { return nil }
        let tag = header.hasPrefix("W/") ? header.dropFirst(2) : Substring(header)
        guard tag.count >= 3, tag.count <= 20, tag.hasPrefix("\""), tag.hasSuffix("\""),
            tag.dropFirst().dropLast().allSatisfy({ $0.isASCII && $0.isNumber }),
            let version = Int64(tag.dropFirst().dropLast())
        else {
            throw Problem.badRequest("If-Match must be an ETag this API issued", field: "If-Match")
        }
        return version
    }
}

/// `tenant` if it names a tenant (`platform` or a tenant's public_id, OpenAPIDocument's `tenantPattern`).
func checkedTenant(_ tenant: String, field: String) throws -> String {
    guard tenant == AuthInterceptor.platformTenant || EventID.isUUID(tenant) else {
        throw Problem.badRequest("\(field) must be 'platform' or a tenant's public_id", field: field)
    }
    return tenant
}

/// A resource's JSON with its version as the `ETag` (and its `Location` when it was just created).
func resourceResponse(
    _ json: JSONValue, version: Int64, status: HTTPResponse.Status = .ok, location: String? = nil
) -> Response {
    var headers: HTTPFields = [.eTag: "\"\(version)\""]
    if let location { headers[.location] = location }
    return jsonResponse(json, status: status, headers: headers)
}
