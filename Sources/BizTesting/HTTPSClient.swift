import BizEvents
import Foundation

/// Real HTTPS requests to the running gateway, made with curl (HTTP/2 over TLS, verifying the generated certificate
/// against `<data-dir>/tls/cert.pem`).
public struct HTTPSClient: Sendable {
    public var baseURL: String
    public var caFile: String
    /// A curl cookie file: set, the client keeps and sends cookies like a browser (`Secure` ones over HTTPS only).
    public var cookieJar: String?

    public init(baseURL: String, caFile: String) {
        self.baseURL = baseURL
        self.caFile = caFile
    }

    public init(_ system: any RunningSystem) {
        self.init(baseURL: system.endpoint("https")!, caFile: system.certificateFile)
    }

    public struct Response: Sendable {
        public var status: Int
        public var httpVersion: String
        /// Lowercased names.
        public var headers: [String: String]
        public var body: Data

        public var json: JSONValue? { try? JSONParser.parse(Array(body)) }
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The trace id of the response's `traceparent`.
        public var traceID: String? { headers["traceparent"]?.split(separator: "-").dropFirst().first.map(String.init) }
    }

    public func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil, bearer: String? = nil
    ) async throws -> Response {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("https-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let headerFile = scratch.appendingPathComponent("headers").path
        let bodyFile = scratch.appendingPathComponent("body").path
        var arguments = [
            "-sS", "--http2", "--cacert", caFile, "-X", method, "-D", headerFile, "-o", bodyFile,
            "-w", "%{http_code} %{http_version}",
        ]
        if let cookieJar { arguments += ["-b", cookieJar, "-c", cookieJar] }
        var allHeaders = headers
        if let bearer { allHeaders["Authorization"] = "Bearer \(bearer)" }
        for (name, value) in allHeaders.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        if let body {
            let requestFile = scratch.appendingPathComponent("request").path
            try body.write(to: URL(fileURLWithPath: requestFile))
            arguments += ["--data-binary", "@" + requestFile]
        }
        arguments.append(baseURL + path)
        let result = try await runProgram("/usr/bin/curl", arguments)
        guard result.status == 0 else { throw ProcessFailure("curl failed: \(result.error)") }
        let summary = result.output.split(separator: " ")
        var responseHeaders: [String: String] = [:]
        let headerText = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        for line in headerText.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            responseHeaders[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return Response(
            status: Int(summary.first ?? "") ?? 0, httpVersion: summary.count > 1 ? String(summary[1]) : "",
            headers: responseHeaders, body: FileManager.default.contents(atPath: bodyFile) ?? Data()
        )
    }

    public func json(
        _ method: String, _ path: String, _ value: JSONValue, bearer: String?, headers: [String: String] = [:]
    )
        async throws -> Response
    {
        try await request(
            method, path, headers: headers.merging(["Content-Type": "application/json"]) { given, _ in given },
            body: Data(value.canonicalBytes()), bearer: bearer
        )
    }

    /// `POST` a form body (`application/x-www-form-urlencoded`), with HTTP Basic client authentication if given.
    public func form(_ path: String, _ fields: [String: String], basic: (String, String)? = nil) async throws
        -> Response
    {
        let body = fields.sorted(by: { $0.key < $1.key }).map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)"
        }.joined(separator: "&")
        var headers = ["Content-Type": "application/x-www-form-urlencoded"]
        if let (id, secret) = basic {
            headers["Authorization"] = "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
        }
        return try await request("POST", path, headers: headers, body: Data(body.utf8))
    }

    /// `POST /oauth2/token` with a form body.
    public func token(_ form: [String: String], basic: (String, String)? = nil) async throws -> Response {
        try await self.form("/oauth2/token", form, basic: basic)
    }

    /// A password-grant access token for the bootstrap administrator.
    public func adminToken(_ system: any RunningSystem) async throws -> String {
        try await adminToken(credential: system.bootstrapCredential)
    }

    /// The same, with the credentials a system generated into `<directory>/bootstrap-credentials.json`.
    public func adminToken(credentialsIn directory: String) async throws -> String {
        try await adminToken(credential: { BizRetailProcess.credential($0, in: directory) })
    }

    func adminToken(credential: (String) -> String?) async throws -> String {
        guard let email = credential("admin_email"), let password = credential("admin_password"),
            let clientID = credential("client_id"), let secret = credential("client_secret")
        else { throw ProcessFailure("no bootstrap credentials") }
        let response = try await token(
            ["grant_type": "password", "username": email, "password": password], basic: (clientID, secret))
        guard let token = response.json?["access_token"]?.stringValue else {
            throw ProcessFailure("no token: \(response.status) \(response.text)")
        }
        return token
    }
}

/// A streamed response (Server-Sent Events) read by curl into a file as it comes.
public final class HTTPSStream: Sendable {
    let process: Process
    let file: String

    init(process: Process, file: String) {
        self.process = process
        self.file = file
    }

    /// Everything received so far.
    public var text: String { (try? String(contentsOfFile: file, encoding: .utf8)) ?? "" }

    /// Waits until what was received satisfies `done`, at most `timeout`.
    public func wait(timeout: Duration = .seconds(10), until done: (String) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if done(text) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return done(text)
    }

    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: file)
    }
}

extension HTTPSClient {
    /// Starts a GET whose body streams in (`curl -N`), for at most `seconds`.
    public func stream(_ path: String, bearer: String, seconds: Int = 120) throws -> HTTPSStream {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = [
            "-sS", "-N", "--cacert", caFile, "--max-time", String(seconds), "-H", "Authorization: Bearer \(bearer)",
            "-H", "Accept: text/event-stream", "-o", file, baseURL + path,
        ]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        return HTTPSStream(process: process, file: file)
    }
}
