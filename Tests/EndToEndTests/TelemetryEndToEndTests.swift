import BizEvents
import BizProtos
import BizTesting
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

extension TopologySuites {
    /// Traces, logs and metrics of the real executable, received by real receivers: the tests' OTLP receiver, and
    /// noida-db's Elasticsearch endpoint (`BIZ_TEST_ELASTICSEARCH_URL`).
    @Suite("Telemetry end to end")
    struct TelemetryEndToEndTests {
        /// An Elasticsearch query over curl: the parsed answer.
        func elasticsearch(_ path: String) async throws -> JSONValue? {
            let base = try #require(ProcessInfo.processInfo.environment["BIZ_TEST_ELASTICSEARCH_URL"])
            let result = try await runProgram("/usr/bin/curl", ["-s", base + path])
            return try? JSONParser.parse(Array(result.output.utf8))
        }

        @Test(
            "one POST /v1/accounts is one trace from the gateway to the audit store, its lines found by trace id",
            arguments: Topology.allCases)
        func oneTrace(_ topology: Topology) async throws {
            try await withTemporaryDirectory { directory in
                let receiver = try await OTLPReceiver.start(in: directory)
                defer { receiver.stop() }
                // Both OTLP transports: gRPC for one mode, HTTP/protobuf for the other.
                let namespace = "t\(UUID().uuidString.prefix(8).lowercased())"
                let metricsPort = try freePort()
                var environment = [
                    "OTEL_EXPORTER_OTLP_ENDPOINT": topology == .embedded
                        ? receiver.grpcEndpoint : receiver.httpEndpoint,
                    "OTEL_EXPORTER_OTLP_PROTOCOL": topology == .embedded ? "grpc" : "http/protobuf",
                    "OTEL_BSP_SCHEDULE_DELAY": "200",
                    "BIZ_ELASTICSEARCH_URL": try #require(
                        ProcessInfo.processInfo.environment["BIZ_TEST_ELASTICSEARCH_URL"]),
                    "BIZ_ELASTICSEARCH_NAMESPACE": namespace,
                    "BIZ_LOG_LEVEL": "debug",
                ]
                if topology == .embedded { environment["BIZ_METRICS_PORT"] = "\(metricsPort)" }
                try await topology.withSystem(in: directory, environment: environment) { system in
                    let https = HTTPSClient(system)
                    let token = try await https.adminToken(system)
                    let created = try await https.json(
                        "POST", "/v1/accounts",
                        ["name": "Ana Trace", "email": "ana.trace@example.com", "document_registry": "529.982.247-25"],
                        bearer: token)
                    #expect(created.status == 201, "\(created.text)")
                    let traceID = try #require(created.traceID)
                    let id = try #require(created.json?["public_id"]?.stringValue)

                    // The stored event's trace_id is the request's trace.
                    var envelope: JSONValue?
                    try await BizRetailProcess.eventually("the audited account") {
                        let response = try await https.request(
                            "GET", "/v1/audit/entities/account/\(id)/versions", bearer: token)
                        guard case .array(let items)? = response.json?["items"], let first = items.first else {
                            return false
                        }
                        envelope = first["envelope"]
                        return true
                    }
                    #expect(envelope?["trace_id"] == .string(traceID))

                    // Every hop's span, in that one trace, each the child of the one before.
                    var spans: [OTLPReceiver.Span] = []
                    do {
                        try await BizRetailProcess.eventually("the trace's spans at the receiver") {
                            spans = receiver.spans().filter { $0.traceID == traceID }
                            return spans.contains { $0.name == "audit.store" }
                        }
                    } catch {
                        let received = receiver.spans().map {
                            "\($0.service ?? "?") \($0.kind) \($0.name) \($0.traceID)"
                        }
                        Issue.record("trace \(traceID); received:\n\(received.joined(separator: "\n"))")
                        throw error
                    }
                    let byID = Dictionary(spans.map { ($0.spanID, $0) }, uniquingKeysWith: { first, _ in first })
                    func parent(of span: OTLPReceiver.Span) -> OTLPReceiver.Span? { byID[span.parentSpanID] }
                    func span(_ name: String, kind: String? = nil) throws -> OTLPReceiver.Span {
                        try #require(
                            spans.first { $0.name == name && (kind == nil || $0.kind == kind) },
                            "no \(name) span in \(spans.map(\.name))")
                    }
                    let root = try #require(spans.first { $0.parentSpanID.isEmpty }, "no root span")
                    #expect(root.kind == "server")
                    #expect(root.name.contains("/v1/accounts"))
                    let rpc = "bizretail.team.v1.TeamService/CreateAccount"
                    let client = try span(rpc, kind: "client")
                    let server = try span(rpc, kind: "server")
                    let write = try span("outbox.write")
                    let publish = try span("outbox.publish")
                    let consume = try span("consume audit")
                    let store = try span("audit.store")
                    #expect(parent(of: client)?.spanID == root.spanID)
                    #expect(parent(of: server)?.spanID == client.spanID)
                    #expect(parent(of: write)?.name == "db.transaction")
                    #expect(parent(of: write).flatMap(parent(of:))?.spanID == server.spanID)
                    #expect(parent(of: publish)?.spanID == write.spanID)
                    #expect(publish.kind == "producer")
                    #expect(parent(of: consume)?.spanID == publish.spanID)
                    #expect(consume.kind == "consumer")
                    #expect(parent(of: store)?.spanID == consume.spanID)
                    // Every span but the root has its parent in the trace.
                    #expect(spans.allSatisfy { $0.parentSpanID.isEmpty || byID[$0.parentSpanID] != nil })
                    if topology == .distributed {
                        #expect(root.service == "biz-retail-gateway")
                        #expect(server.service == "biz-retail-team")
                        #expect(publish.service == "biz-retail-team")
                        #expect(store.service == "biz-retail-audit")
                    }

                    // The request's log lines from every service, found by trace id.
                    var lines: [JSONValue] = []
                    try await BizRetailProcess.eventually("the trace's log lines in Elasticsearch") {
                        let answer = try await elasticsearch(
                            "/logs-bizretail-\(namespace)/_search?q=trace.id:\(traceID)&size=100&refresh=true")
                        guard case .array(let hits)? = answer?["hits"]?["hits"] else { return false }
                        lines = hits.compactMap { $0["_source"] }
                        let messages = Set(lines.compactMap { $0["message"]?.stringValue })
                        return messages.isSuperset(of: ["request", "rpc", "event stored"])
                    }
                    #expect(lines.allSatisfy { $0["trace.id"] == .string(traceID) })
                    #expect(lines.allSatisfy { $0["ecs.version"] != nil && $0["@timestamp"] != nil })
                    let services = Set(lines.compactMap { $0["service.name"]?.stringValue })
                    if topology == .distributed {
                        #expect(services.isSuperset(of: ["biz-retail-gateway", "biz-retail-team", "biz-retail-audit"]))
                    } else {
                        #expect(services == ["biz-retail"])
                    }
                    // The email of the request is in no line, masked or not.
                    #expect(
                        !lines.contains { "\($0)".contains("ana.trace@example.com") || "\($0)".contains("52998224725") }
                    )
                    // The exporters' own counters reach /metrics (they are made before the metrics system is).
                    if topology == .embedded {
                        try await BizRetailProcess.eventually("the exporters' counters") {
                            let result = try await runProgram(
                                "/usr/bin/curl", ["-s", "-f", "http://127.0.0.1:\(metricsPort)/metrics"])
                            let metrics = try PrometheusText.parse(result.output)
                            return (metrics["spans_exported_total"] ?? 0) >= Double(spans.count)
                                && (metrics["log_shipping_shipped_total"] ?? 0) >= Double(lines.count)
                                && metrics["spans_dropped_total"] == 0 && metrics["log_shipping_dropped_total"] == 0
                        }
                    }
                }
            }
        }

        @Test("/metrics serves Prometheus text whose counters move with traffic")
        func metrics() async throws {
            try await withTemporaryDirectory { directory in
                let port = try freePort()
                try await Topology.embedded.withSystem(in: directory, environment: ["BIZ_METRICS_PORT": "\(port)"]) {
                    system in
                    func scrape() async throws -> [String: Double] {
                        let result = try await runProgram(
                            "/usr/bin/curl", ["-s", "-f", "http://127.0.0.1:\(port)/metrics"])
                        #expect(result.status == 0)
                        return try PrometheusText.parse(result.output)
                    }
                    let https = HTTPSClient(system)
                    let token = try await https.adminToken(system)
                    let before = try await scrape()
                    for index in 0..<3 {
                        let team = try await https.json(
                            "POST", "/v1/teams", ["name": .string("Metrics \(index)")], bearer: token)
                        #expect(team.status == 201)
                    }
                    #expect(try await https.request("GET", "/v1/teams/nope", bearer: token).status == 404)
                    var after: [String: Double] = [:]
                    try await BizRetailProcess.eventually("the audit counter to move") {
                        after = try await scrape()
                        return (after["audit_events_stored_total"] ?? 0) >= (before["audit_events_stored_total"] ?? 0)
                            + 3
                    }
                    let created =
                        #"hb_requests{http_route="/v1/teams",http_request_method="POST",http_response_status_code="201"}"#
                    #expect((after[created] ?? 0) - (before[created] ?? 0) == 3)
                    #expect(after.keys.contains { $0.hasPrefix("hb_requests{") && $0.contains(#"status_code="404""#) })
                    let rpc =
                        #"rpc_server_requests_total{rpc_method="bizretail.team.v1.TeamService/CreateTeam",rpc_grpc_status_code="0",rpc_grpc_status="ok"}"#
                    #expect((after[rpc] ?? 0) - (before[rpc] ?? 0) == 3)
                    #expect(after.keys.contains { $0.hasPrefix("http_server_request_duration_bucket{") })
                    #expect(after.keys.contains { $0.hasPrefix("rpc_server_duration_seconds_bucket{") })
                    #expect(after.keys.contains { $0.hasPrefix(#"outbox_pending{outbox="team"}"#) })
                    #expect(after.keys.contains { $0.hasPrefix(#"consumer_lag{consumer="audit""#) })
                    #expect(after.keys.contains { $0.hasPrefix("db_connections_in_use{") })
                    #expect((after["process_resident_memory_bytes"] ?? 0) > 1_000_000)
                    #expect((after["process_cpu_seconds_total"] ?? 0) > 0)
                }
            }
        }
    }
}

extension TopologySuites.TelemetryEndToEndTests {
    @Test("grpc.health.v1 answers without a token: SERVING while up, NOT_SERVING to a watcher at shutdown")
    func health() async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory)
            let port = Int(try #require(system.endpoint("grpc")).split(separator: ":").last!)!
            try await withGRPCClient(
                transport: try .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            ) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                for service in ["", "bizretail.team.v1.TeamService", "bizretail.audit.v1.AuditService"] {
                    #expect(try await health.check(.with { $0.service = service }).status == .serving)
                }
                await #expect(throws: RPCError.self) { try await health.check(.with { $0.service = "nope" }) }
                let listed = try await health.list(.init())
                #expect(listed.statuses["bizretail.identity.v1.IdentityService"]?.status == .serving)
                try await health.watch(.with { $0.service = "" }) { response in
                    var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
                    for try await message in response.messages {
                        statuses.append(message.status)
                        if statuses.count == 1 { kill(system.process.processIdentifier, SIGTERM) }
                    }
                    #expect(statuses == [.serving, .notServing])
                }
            }
            try await system.stop()
        }
    }

    @Test(
        "a port already in use (HTTPS, gRPC, metrics) ends the process with exit 1, naming the listener and its address, never a crash"
    )
    func portInUse() async throws {
        try await withTemporaryDirectory { directory in
            let metrics = try freePort()
            let first = try await BizRetailProcess(
                dataDirectory: directory + "/first", environment: ["BIZ_METRICS_PORT": "\(metrics)"])
            let https = try #require(first.endpoint("https").flatMap { $0.split(separator: ":").last })
            let grpc = try #require(first.endpoint("grpc").flatMap { $0.split(separator: ":").last })
            for (listener, taken, ports) in [
                ("HTTPS", https, ["--https-port", "\(https)", "--grpc-port", "0", "--metrics-port", "0"]),
                ("gRPC", grpc, ["--https-port", "0", "--grpc-port", "\(grpc)", "--metrics-port", "0"]),
                (
                    "metrics", "\(metrics)"[...],
                    ["--https-port", "0", "--grpc-port", "0", "--metrics-port", "\(metrics)"]
                ),
            ] {
                let second = try await runProgram(
                    BizRetailProcess.executable,
                    ["serve", "--data-dir", directory + "/second-\(listener)", "--log-format", "text"] + ports)
                #expect(second.status == 1, "\(listener)")
                #expect(
                    second.error.contains(
                        "cannot listen for \(listener) on 127.0.0.1:\(taken): Address already in use"),
                    "\(second.error)")
                #expect(!second.error.contains("crashed"))
            }
            try await first.stop()
        }
    }

    @Test("scripts/scan-logs fails on an email, a CPF, a JWT or a known secret, and passes masked lines")
    func scanLogs() async throws {
        let scan = BizRetailProcess.packageRoot + "/scripts/scan-logs"
        for leak in [
            "user maria@example.com", "cpf 529.982.247-25", "token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig",
            "the secret s3cr3t-value-1234",
        ] {
            try await withTemporaryDirectory { directory in
                try Data("{\"message\":\"ok\"}\n{\"message\":\"\(leak)\"}\n".utf8).write(
                    to: URL(fileURLWithPath: directory + "/serve-1.log"))
                try Data("s3cr3t-value-1234\n".utf8).write(to: URL(fileURLWithPath: directory + "/secrets.txt"))
                #expect(try await runProgram(scan, [directory]).status == 1, "\(leak) passed the scan")
            }
        }
        try await withTemporaryDirectory { directory in
            try Data(#"{"message":"user m***@example.com, cpf ***, [REDACTED]"}"#.utf8).write(
                to: URL(fileURLWithPath: directory + "/serve-1.log"))
            #expect(try await runProgram(scan, [directory]).status == 0)
        }
    }
}

/// The Prometheus text exposition format (0.0.4), strictly enough to catch a malformed exposition: `# TYPE` lines
/// name a known type, every sample is `name{labels} value` with a valid name, quoted label values and a number.
enum PrometheusText {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        let name = #/[a-zA-Z_:][a-zA-Z0-9_:]*/#
        let labels = #/\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)?\}/#
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, parts[2].wholeMatch(of: name) != nil,
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[3]))
                else { throw Malformed(description: "bad TYPE line: \(line)") }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " ") else { throw Malformed(description: "no value: \(line)") }
            let series = line[..<space]
            let valueText = line[line.index(after: space)...]
            guard let value = Double(valueText) ?? (valueText == "+Inf" ? .infinity : nil) else {
                throw Malformed(description: "bad value: \(line)")
            }
            let brace = series.firstIndex(of: "{") ?? series.endIndex
            guard series[..<brace].wholeMatch(of: name) != nil,
                brace == series.endIndex || series[brace...].wholeMatch(of: labels) != nil
            else { throw Malformed(description: "bad series: \(line)") }
            samples[String(series)] = value
        }
        return samples
    }
}

@Suite("Kibana saved objects")
struct KibanaSavedObjectsTests {
    @Test("deploy/kibana: every line is a saved object, every reference resolves, the data view covers the stream")
    func savedObjects() throws {
        let path = BizRetailProcess.packageRoot + "/deploy/kibana/saved-objects.ndjson"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let objects = try lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let ids = Set(
            objects.compactMap { object in (object["type"] as? String).map { "\($0)/\(object["id"] ?? "")" } })
        #expect(
            ids.isSuperset(of: [
                "index-pattern/bizretail-logs", "search/bizretail-trace", "dashboard/bizretail-overview",
            ]))
        for object in objects {
            for reference in object["references"] as? [[String: Any]] ?? [] {
                let target = "\(reference["type"] ?? "")/\(reference["id"] ?? "")"
                #expect(ids.contains(target), "\(object["id"] ?? "") refers to \(target)")
            }
            let attributes = try #require(object["attributes"] as? [String: Any])
            for key in ["visState", "panelsJSON", "optionsJSON"] {
                if let text = attributes[key] as? String {
                    #expect(
                        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil,
                        "\(key) of \(object["id"] ?? "")")
                }
            }
        }
        let dataView = try #require(objects.first { $0["type"] as? String == "index-pattern" })
        #expect((dataView["attributes"] as? [String: Any])?["title"] as? String == "logs-bizretail-*")
    }
}
