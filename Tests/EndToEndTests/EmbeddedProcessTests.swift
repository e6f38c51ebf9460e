import BizEvents
import BizMessaging
import BizStorage
import BizTesting
import Foundation
import Logging
import Testing

/// These run the real `biz-retail` executable and talk to it over gRPC through its own CLI.
@Suite("The embedded system as a real process", .serialized)
struct EmbeddedProcessTests {
    func write(_ envelope: EventEnvelope, in directory: String) throws -> String {
        let path = directory + "/event-\(envelope.eventID).json"
        try Data(envelope.encoded()).write(to: URL(fileURLWithPath: path))
        return path
    }

    func history(_ system: BizRetailProcess, _ type: String, _ id: String) async throws -> [JSONValue] {
        let result = try await system.command(["audit", "history", type, id, "--json"])
        guard result.status == 0, case .array(let versions) = try JSONParser.parse(Array(result.output.utf8)) else {
            throw ProcessFailure("audit history failed (\(result.status)): \(result.error)")
        }
        return versions
    }

    @Test("the brief's example, published with the CLI, becomes version 1 in the audit history")
    func publishAndHistory() async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory)
            let published = try await system.command(["events", "publish", "-"], stdin: SampleEvents.briefExample)
            #expect(published.status == 0, "\(published.error)")
            let eventID = published.output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(EventID.isUUID(eventID))
            let entity = "123e4567-e89b-12d3-a456-426614174000"
            try await BizRetailProcess.eventually("the event in the audit history") {
                try await history(system, "account", entity).count == 1
            }
            let version = try #require(try await history(system, "account", entity).first)
            #expect(version["version"] == 1)
            #expect(version["action_type"] == "new")
            #expect(version["is_active"] == true)
            #expect(version["event_id"] == .string(eventID))
            // Attributed to the operator who published it, not to whoever the file claims; the claim is kept.
            let envelope = version["envelope"]
            #expect(envelope?["producer_service"] == "operator")
            // The operator CLI's service client: its id, a UUID.
            #expect(envelope?["metadata"]?["owner_id"]?.stringValue.map(EventID.isUUID) == true)
            #expect(envelope?["metadata"]?["owner_type"] == "service")
            #expect(envelope?["metadata"]?["owner_ip"] == "127.0.0.1")
            let claimed = envelope?["metadata"]?["operator_claimed"]
            #expect(claimed?["owner_id"] == "789")
            #expect(claimed?["owner_type"] == "user")
            #expect(claimed?["producer_service"] == "team_service")
            #expect(claimed?["owner_ip"] == "192.168.1.100")
            let table = try await system.command(["audit", "history", "account", entity])
            #expect(table.output.contains("account.created"))
            let (status, elapsed) = try await system.stop(signal: SIGTERM)
            #expect(status == 0)
            #expect(elapsed < .seconds(10))
        }
    }

    @Test("an entity's lifecycle through the real pipeline gives versions 1–5")
    func lifecycle() async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory)
            let entity = "5b7c9d1e-2f3a-4b5c-8d6e-7f8091a2b3c4"
            let start = EventTimestamp.now().millisecondsSinceEpoch
            for (index, verb) in ["created", "updated", "disabled", "enabled", "deleted"].enumerated() {
                let event = SampleEvents.envelope(
                    "account.\(verb)", entityID: entity,
                    timestamp: EventTimestamp(millisecondsSinceEpoch: start + Int64(index))
                )
                let result = try await system.command(["events", "publish", try write(event, in: directory)])
                #expect(result.status == 0, "\(result.error)")
            }
            try await BizRetailProcess.eventually("five versions") {
                try await history(system, "account", entity).count == 5
            }
            let versions = try await history(system, "account", entity)
            #expect(versions.map { $0["version"] } == [1, 2, 3, 4, 5])
            #expect(versions.map { $0["action_type"] } == ["new", "update", "disable", "enable", "delete"])
            #expect(versions.map { $0["is_active"] } == [false, false, false, false, false])
            try await system.stop(signal: SIGINT)
        }
    }

    @Test("an event committed to the outbox survives SIGKILL before delivery and is delivered after restart")
    func killBeforeDelivery() async throws {
        try await withTemporaryDirectory { directory in
            let event = SampleEvents.envelope(entityID: "6c8d0e2f-3a4b-4c5d-9e6f-8091a2b3c4d5")
            let held = try await BizRetailProcess(
                dataDirectory: directory, environment: ["BIZ_TEST_RELAY_FAULT": "hold"]
            )
            let published = try await held.command(["events", "publish", try write(event, in: directory)])
            #expect(published.status == 0, "\(published.error)")
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await history(held, "account", event.entityID).isEmpty)
            try await held.stop(signal: SIGKILL)

            let restarted = try await BizRetailProcess(dataDirectory: directory)
            try await BizRetailProcess.eventually("delivery after restart") {
                try await history(restarted, "account", event.entityID).count == 1
            }
            try await restarted.stop()
        }
    }

    @Test("a process killed between delivery and marking the outbox redelivers without a duplicate version")
    func killAfterDelivery() async throws {
        try await withTemporaryDirectory { directory in
            let event = SampleEvents.envelope(entityID: "7d9e1f3a-4b5c-4d6e-8f70-91a2b3c4d5e6")
            let doomed = try await BizRetailProcess(
                dataDirectory: directory, environment: ["BIZ_TEST_RELAY_FAULT": "kill-after-publish"]
            )
            _ = try await doomed.command(["events", "publish", try write(event, in: directory)])
            try await BizRetailProcess.eventually("the relay to kill the process") { !doomed.process.isRunning }
            #expect(doomed.process.terminationReason == .uncaughtSignal)

            let restarted = try await BizRetailProcess(dataDirectory: directory)
            // Read the bus beside the running process (WAL allows it): the event was published twice.
            let store = try await SQLiteStore.open(
                path: directory + "/bus.sqlite", migrations: DurableBus.migrations, logger: Logger(label: "test")
            )
            let bus = DurableBus(store: store)
            // The bus also carries the identity bootstrap events; the published event is the one after them.
            var failure: (any Error)?
            do {
                try await BizRetailProcess.eventually("the redelivery to be consumed") {
                    let messages = try await bus.fetch(after: 0, limit: 100).filter { $0.eventID == event.eventID }
                    let offset = try await bus.committedOffset(of: "audit")
                    return messages.count == 2 && offset >= messages.last!.offset
                }
            } catch {
                failure = error
            }
            try await store.close()
            if let failure { throw failure }
            let versions = try await history(restarted, "account", event.entityID)
            #expect(versions.count == 1)
            #expect(versions.first?["event_id"] == .string(event.eventID))
            try await restarted.stop()
        }
    }

    @Test("an invalid event is refused with every bad field named, and listed as a dead letter")
    func invalidEvent() async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory)
            var object = SampleEvents.object()
            object["timestamp"] = "yesterday"
            object["payload"] = ["name": "no id"]
            let refused = try await system.command(
                ["events", "publish", "-"], stdin: JSONValue.object(object).canonicalString()
            )
            #expect(refused.status == 1)
            #expect(refused.error.contains("timestamp must be an RFC 3339 date-time"))
            #expect(refused.error.contains("payload.public_id is missing"))
            let malformed = try await system.command(["events", "publish", "-"], stdin: "{\"event_type\": ")
            #expect(malformed.status == 1)
            #expect(malformed.error.contains("not valid JSON"))
            // The same bad body again is refused again, but kept once.
            #expect(try await system.command(["events", "publish", "-"], stdin: "{\"event_type\": ").status == 1)
            let letters = try await system.command(["events", "dead-letters", "--json"])
            #expect(letters.status == 0)
            let lines = letters.output.split(separator: "\n")
            #expect(lines.count == 2)
            #expect(letters.output.contains("payload.public_id is missing"))
            // The pipeline keeps running: a valid event still goes through.
            let good = SampleEvents.envelope(entityID: "8e0f2a4b-5c6d-4e7f-9081-a2b3c4d5e6f7")
            #expect(try await system.command(["events", "publish", try write(good, in: directory)]).status == 0)
            try await BizRetailProcess.eventually("the valid event") {
                try await history(system, "account", good.entityID).count == 1
            }
            try await system.stop()
        }
    }

    @Test("the CLI says clearly when no system is running")
    func notRunning() async throws {
        let result = try await BizRetailProcess.run(
            ["audit", "history", "account", "x", "--server", "127.0.0.1:1", "--token", "unused"]
        )
        #expect(result.status == 1)
        #expect(result.error.contains("cannot reach biz-retail at 127.0.0.1:1"))
    }

    @Test("a setting found wrong at start is named, under the usage of the command that read it")
    func wrongSetting() async throws {
        for (arguments, message) in [
            (["serve", "--metrics-port", "70000"], "BIZ_METRICS_PORT (--metrics-port) must be a whole number"),
            (["--log-format", "xml"], "BIZ_LOG_FORMAT (--log-format) must be ecs or text"),
            (
                ["audit", "history", "account", "x", "--server", "nohostport", "--token", "unused"],
                "the server address must be host:port, got 'nohostport'"
            ),
        ] {
            let result = try await BizRetailProcess.run(arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.error.contains("Error: \(message)"), "\(result.error)")
            // The command's own usage, not the root's `biz-retail <subcommand>`.
            let command = arguments[0] == "audit" ? "biz-retail audit history" : "biz-retail serve"
            #expect(result.error.contains("Usage: \(command) "), "\(result.error)")
            #expect(result.error.contains("See '\(command) --help'"), "\(result.error)")
        }
    }
}
