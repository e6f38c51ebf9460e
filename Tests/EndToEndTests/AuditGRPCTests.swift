import BizEvents
import BizProtos
import BizTesting
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing

/// The Audit and EventBus gRPC APIs of the real executable, called with a generated client.
@Suite("Audit gRPC API of the real process", .serialized)
struct AuditGRPCTests {
    func withSystem(
        _ body: (
            BizRetailProcess, Bizretail_Audit_V1_AuditService.Client<HTTP2ClientTransport.Posix>,
            Bizretail_Events_V1_EventBus.Client<HTTP2ClientTransport.Posix>
        ) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory)
            let port = Int(system.endpoint("grpc")!.split(separator: ":").last!)!
            let transport = {
                try HTTP2ClientTransport.Posix(
                    target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext
                )
            }
            let token = try await withGRPCClient(transport: try transport()) { client in
                try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).issueToken(
                    .with {
                        $0.grantType = "client_credentials"
                        $0.clientID = system.operatorCredential("client_id")!
                        $0.clientSecret = system.operatorCredential("client_secret")!
                    }
                ).accessToken
            }
            try await withGRPCClient(transport: try transport(), interceptors: [BearerToken(token: token)]) { client in
                try await body(system, .init(wrapping: client), .init(wrapping: client))
            }
            try await system.stop()
        }
    }

    func publish(_ events: [EventEnvelope], _ bus: Bizretail_Events_V1_EventBus.Client<HTTP2ClientTransport.Posix>)
        async throws
    {
        for event in events {
            let response = try await bus.publish(.with { $0.envelopeJson = Data(event.encoded()) })
            #expect(response.eventID == event.eventID)
        }
    }

    @Test("state as of a time, filtered and paginated events, and the ownership, over gRPC")
    func queries() async throws {
        try await withSystem { _, audit, bus in
            let person = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
            let trace = "5bf92f3577b34da6a3ce929d0e0e4737"
            let start = EventTimestamp(rfc3339: "2026-05-01T08:00:00Z")!
            let events = ["created", "updated", "updated"].enumerated().map { index, verb in
                SampleEvents.envelope(
                    "account.\(verb)", entityID: person, ownershipID: person,
                    timestamp: EventTimestamp(
                        millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(index) * 60_000),
                    traceID: index == 0 ? trace : nil, payload: ["name": .string("Name \(index)")]
                )
            }
            try await publish(events, bus)
            try await BizRetailProcess.eventually("three versions") {
                try await audit.getEntityHistory(
                    .with {
                        $0.entityType = "account"
                        $0.entityID = person
                    }
                ).versions.count == 3
            }

            let at = Google_Protobuf_Timestamp(seconds: start.millisecondsSinceEpoch / 1000 + 90, nanos: 0)
            let state = try await audit.getEntityStateAt(
                .with {
                    $0.entityType = "account"
                    $0.entityID = person
                    $0.at = at
                }
            )
            #expect(state.version == 2)
            #expect(state.actionType == "update")
            #expect(try JSONParser.parse(Array(state.stateJson.utf8))["name"] == "Name 1")

            let before = Google_Protobuf_Timestamp(seconds: start.millisecondsSinceEpoch / 1000 - 1, nanos: 0)
            let notYet = await #expect(throws: RPCError.self) {
                try await audit.getEntityStateAt(
                    .with {
                        $0.entityType = "account"
                        $0.entityID = person
                        $0.at = before
                    })
            }
            #expect(notYet?.code == .notFound)

            let byTrace = try await audit.listEvents(.with { $0.traceID = trace })
            #expect(byTrace.events.map(\.eventID) == [events[0].eventID])

            var seen: [String] = []
            var token = ""
            repeat {
                let page = try await audit.listEvents(
                    .with {
                        $0.ownershipID = person
                        $0.pageSize = 2
                        $0.pageToken = token
                    })
                seen += page.events.map(\.eventID)
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(seen == events.map(\.eventID))

            let ownership = try await audit.getOwnership(.with { $0.ownershipID = person })
            #expect(ownership.eventCount == 3)
            #expect(ownership.subjectEntityType == "account")
            // Published by an operator: attributed to `operator`, never to the service the events name.
            #expect(ownership.producerServices == ["operator"])
            #expect(ownership.firstSeenAt.seconds == start.millisecondsSinceEpoch / 1000)
        }
    }

    @Test("bad requests get INVALID_ARGUMENT or NOT_FOUND, never INTERNAL")
    func badRequests() async throws {
        try await withSystem { _, audit, bus in
            let codes: [RPCError.Code?] = [
                await #expect(throws: RPCError.self) { try await audit.listEvents(.with { $0.pageToken = "garbage" }) }?
                    .code,
                await #expect(throws: RPCError.self) { try await audit.listEvents(.with { $0.pageSize = 5000 }) }?.code,
                await #expect(throws: RPCError.self) { try await audit.getEntityHistory(.init()) }?.code,
                await #expect(throws: RPCError.self) {
                    try await audit.getOwnership(.with { $0.ownershipID = "0e0e0e0e-0000-4000-8000-000000000000" })
                }?.code,
                await #expect(throws: RPCError.self) {
                    try await bus.publish(
                        .with {
                            $0.envelopeJson = Data(
                                repeating: UInt8(ascii: " "), count: EventEnvelope.maximumEncodedSize + 1)
                        })
                }?.code,
                // Out of any calendar: refused, where the conversion used to overflow and end the process.
                await #expect(throws: RPCError.self) {
                    try await audit.getEntityStateAt(
                        .with {
                            $0.entityType = "account"
                            $0.entityID = "0e0e0e0e-0000-4000-8000-000000000000"
                            $0.at = .init(seconds: .max, nanos: 0)
                        })
                }?.code,
                await #expect(throws: RPCError.self) {
                    try await audit.listEvents(.with { $0.since = .init(seconds: .min, nanos: 0) })
                }?.code,
            ]
            #expect(
                codes == [
                    .invalidArgument, .invalidArgument, .invalidArgument, .notFound, .invalidArgument, .invalidArgument,
                    .invalidArgument,
                ])
            let letters = try await bus.listDeadLetters(.init())
            #expect(letters.deadLetters.first?.reason.contains("over the limit of 131072 bytes") == true)
        }
    }
}

/// Adds a bearer token to every call, as the gateway and the CLI do.
struct BearerToken: ClientInterceptor {
    var token: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.addString("Bearer \(token)", forKey: "authorization")
        return try await next(request, context)
    }
}
