import Foundation
import Logging
import ServiceContextModule
import Testing

@testable import BizTelemetry

@Suite("ECS log lines and redaction")
struct LoggingTests {
    /// Logs through an ``ECSLogHandler`` into a temporary file and returns the lines.
    func lines(format: LogOutput.Format = .ecs, _ body: (Logger) -> Void) throws -> [String] {
        let path = NSTemporaryDirectory() + "ecs-\(UUID().uuidString).log"
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        defer {
            close(descriptor)
            unlink(path)
        }
        let output = LogOutput(
            format: format, serviceName: "biz-retail-team", instanceID: "i-1", descriptor: descriptor)
        body(Logger(label: "biz-retail") { label in ECSLogHandler(label: label, level: .info, output: output) })
        output.flush()
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test("one ECS object per line, with the fields Elasticsearch and Kibana use")
    func ecsFields() throws {
        let output = try lines { logger in
            logger.info(
                "team created", metadata: ["team_id": "t-1", "http.route": "/v1/teams", "duration_ms": "1.5"])
            logger.debug("not written")
            logger.error("store down", metadata: ["error": "connection refused\nretrying \"soon\""])
        }
        #expect(output.count == 2)
        let first = try #require(JSONSerialization.jsonObject(with: Data(output[0].utf8)) as? [String: Any])
        #expect(first["message"] as? String == "team created")
        #expect(first["log.level"] as? String == "info")
        #expect(first["ecs.version"] as? String == "8.11.0")
        #expect(first["service.name"] as? String == "biz-retail-team")
        #expect(first["service.instance.id"] as? String == "i-1")
        #expect(first["event.dataset"] as? String == "bizretail.biz-retail-team")
        #expect(first["log.logger"] as? String == "biz-retail")
        #expect(first["labels"] as? [String: String] == ["team_id": "t-1", "http_route": "/v1/teams"])
        #expect(first["event.duration"] as? Int == 1_500_000)
        let timestamp = try #require(first["@timestamp"] as? String)
        #expect(timestamp.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/#) != nil)
        let second = try #require(JSONSerialization.jsonObject(with: Data(output[1].utf8)) as? [String: Any])
        #expect(second["error.message"] as? String == "connection refused\nretrying \"soon\"")
        #expect(second["labels"] == nil)
    }

    @Test("timestamps are the C library's UTC calendar: epoch, leap days, century years, and a spread of seconds")
    func timestamps() {
        func expected(_ seconds: Int, _ milliseconds: Int) -> String {
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                parts.tm_hour, parts.tm_min, parts.tm_sec, milliseconds)
        }
        // 1970-01-01, 2000-02-29, 2000-03-01, 2100-02-28, 2100-03-01, 2024-12-31T23:59:59.
        var seconds = [0, 951_782_400, 951_868_800, 4_107_456_000, 4_107_542_400, 1_735_689_599]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { seconds.append(Int.random(in: 0..<13_000_000_000, using: &generator)) }
        for second in seconds {
            let milliseconds = second % 1_000
            #expect(WallClock(seconds: second, milliseconds: milliseconds).iso8601 == expected(second, milliseconds))
        }
    }

    @Test("an access line written straight to the output is the line the handler writes for the same call")
    func accessLine() throws {
        let span = SpanContext(traceID: (0x0af7_6519_16cd_43dd, 0x8448_eb21_1c80_319c), spanID: 0xb7ad_6b71_6920_3331)
        let output = try lines { logger in
            var logger = logger
            logger[metadataKey: "service"] = "team"
            let access = AccessLog(
                logger: logger, message: "request", keys: ["url.path", "http.request.method", "note"])
            #expect(access.isEnabled)
            access.info(
                ["/v1/teams/{id}", "GET", "for maria@example.com"], duration: .microseconds(1_500), span: span)
            var traced = ServiceContext.topLevel
            traced.spanContext = span
            ServiceContext.withValue(traced) {
                logger.info(
                    "request",
                    metadata: [
                        "url.path": "/v1/teams/{id}", "http.request.method": "GET", "note": "for maria@example.com",
                        "duration_ms": "1.5",
                    ])
            }
            var quiet = logger
            quiet.logLevel = .warning
            let off = AccessLog(logger: quiet, message: "request", keys: [])
            #expect(!off.isEnabled)
            off.info([], duration: .zero, span: nil)
        }
        #expect(output.count == 2)
        let (direct, handled) = try (object(output[0]), object(output[1]))
        #expect(direct["trace.id"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(direct["span.id"] as? String == "b7ad6b7169203331")
        #expect(direct["event.duration"] as? Int == 1_500_000)
        #expect(
            direct["labels"] as? [String: String]
                == [
                    "url_path": "/v1/teams/{id}", "http_request_method": "GET", "note": "for m***@example.com",
                    "service": "team",
                ])
        #expect(handled["event.duration"] as? Int == 1_500_000)
        // The same text, key for key and in the same order, but for the time.
        #expect(output[0].drop { $0 != "," } == output[1].drop { $0 != "," })
    }

    @Test("an access line in the text format goes through the logger")
    func accessLineText() throws {
        let output = try lines(format: .text) { logger in
            AccessLog(logger: logger, message: "rpc", keys: ["rpc.method"]).info(
                ["GetTeam"], duration: .milliseconds(2), span: nil)
        }
        #expect(output.count == 1)
        #expect(
            output[0].contains("rpc") && output[0].contains("rpc.method=GetTeam")
                && output[0].contains("duration_ms=2.0"))
    }

    func object(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("a logged error gives error.type and error.message")
    func loggedError() throws {
        struct StoreUnavailable: Error {}
        let output = try lines { logger in
            logger.warning("retrying", error: StoreUnavailable())
        }
        let line = try #require(JSONSerialization.jsonObject(with: Data(output[0].utf8)) as? [String: Any])
        #expect(line["error.type"] as? String == "StoreUnavailable")
        #expect(line["error.message"] as? String == "StoreUnavailable()")
    }

    @Test("secrets, tokens, emails, CPFs and CNPJs never reach a line")
    func redaction() throws {
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
        let output = try lines { logger in
            logger.info(
                "login for maria.silva@example.com with \(jwt)",
                metadata: [
                    "password": "hunter2hunter2", "client_secret": "abc", "authorization": "Bearer xyz",
                    "email": "Maria@Example.com", "note": "cpf 529.982.247-25 and 52998224725, cnpj 11.222.333/0001-81",
                    "document_registry": "52998224725", "count": "12345", "at": "2026-11-30T00:00:00Z",
                ])
        }
        let text = output.joined()
        for secret in [
            "hunter2", "\"abc\"", "xyz", "maria.silva@", "Maria@", jwt, "529.982.247-25", "52998224725",
            "11.222.333/0001-81",
        ] {
            #expect(!text.contains(secret), "\(secret) leaked: \(text)")
        }
        #expect(text.contains("m***@example.com"))
        #expect(text.contains("M***@Example.com"))
        #expect(text.contains("\"count\":\"12345\""))
        #expect(text.contains("2026-11-30T00:00:00Z"))
        #expect(text.contains(Redaction.redacted))
    }

    @Test("scrubbing leaves ordinary text untouched")
    func ordinaryText() {
        for text in [
            "request", "GET /v1/teams 200", "event 0193a8c4-1f2e-7abc-9def-0123456789ab", "127.0.0.1:8443",
            "offset 1234567890", "user@", "@host.com",
        ] {
            #expect(Redaction.scrub(text) == text)
        }
    }

    @Test("info lines wait at most the flush interval; a warning is written at once, after the lines before it")
    func buffering() async throws {
        try await withLogFile { path, output, logger in
            func messages() throws -> [String] {
                try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
                    let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    return object?["message"] as? String ?? ""
                }
            }
            logger.info("first")
            logger.warning("second")
            #expect(try messages() == ["first", "second"])
            logger.info("third")
            for _ in 0..<200 where try messages().count < 3 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try messages() == ["first", "second", "third"])
            output.flush()
        }
    }

    @Test("lines logged from many threads while the flush thread writes arrive whole, each thread's in its order")
    func concurrentWriters() async throws {
        try await withLogFile { path, output, logger in
            let (writers, lines) = (4, 3_000)
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for line in 0..<lines {
                            logger.info("line", metadata: ["writer": "\(writer)", "n": "\(line)"])
                            if line % 500 == 0 { await Task.yield() }
                        }
                    }
                }
            }
            output.flush()
            var next = [Int](repeating: 0, count: writers)
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let labels = try #require(object["labels"] as? [String: String])
                let writer = try #require(labels["writer"].flatMap(Int.init))
                let n = try #require(labels["n"].flatMap(Int.init))
                #expect(n == next[writer])
                next[writer] = n + 1
            }
            #expect(next == [Int](repeating: lines, count: writers))
        }
    }

    /// Runs `body` with an ECS output to a temporary file (its path) and an `info` logger writing through it.
    func withLogFile(_ body: (String, LogOutput, Logger) async throws -> Void) async throws {
        let path = NSTemporaryDirectory() + "ecs-\(UUID().uuidString).log"
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        defer {
            close(descriptor)
            unlink(path)
        }
        let output = LogOutput(format: .ecs, serviceName: "biz-retail", instanceID: "i-1", descriptor: descriptor)
        let logger = Logger(label: "biz-retail") { label in ECSLogHandler(label: label, level: .info, output: output) }
        try await body(path, output, logger)
    }

    @Test("text format: one readable line with its metadata")
    func textFormat() throws {
        let output = try lines(format: .text) { logger in logger.info("hello", metadata: ["a": "1"]) }
        #expect(output.count == 1)
        #expect(output[0].hasSuffix(" info biz-retail: hello a=1"))
    }
}
