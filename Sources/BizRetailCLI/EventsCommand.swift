import ArgumentParser
import BizEvents
import BizProtos
import Foundation
import GRPCCore
import SwiftProtobuf

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the event pipeline of a running system.",
        subcommands: [Publish.self, DeadLetters.self]
    )

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish an event envelope (JSON file, or - for stdin) through the bus.",
            discussion: "An event without event_id gets one. Prints the event_id."
        )

        @Argument(help: "The envelope file, or - for standard input.")
        var file: String

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let data: Data
            do {
                data =
                    file == "-"
                    ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            let response = try await connection.withClient { client, metadata in
                try await Bizretail_Events_V1_EventBus.Client(wrapping: client).publish(
                    .with { $0.envelopeJson = data }, metadata: metadata
                )
            }
            print(response.eventID)
        }
    }

    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dead-letters", abstract: "List events that failed validation, newest first."
        )

        @Option(help: "How many to list (1 to 1000).")
        var limit: Int32 = 100

        @Flag(help: "Print JSON lines instead of a table.")
        var json = false

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { client, metadata in
                try await Bizretail_Events_V1_EventBus.Client(wrapping: client).listDeadLetters(
                    .with { $0.pageSize = limit }, metadata: metadata
                )
            }
            for letter in response.deadLetters {
                let receivedAt = EventTimestamp(letter.receivedAt).rfc3339
                if json {
                    let object: JSONValue = [
                        "id": .integer(letter.id), "source": .string(letter.source),
                        "reason": .string(letter.reason), "received_at": .string(receivedAt),
                        "body": .string(String(decoding: letter.body, as: UTF8.self)),
                    ]
                    print(object.canonicalString())
                } else {
                    print("\(letter.id)\t\(receivedAt)\t\(letter.source)\t\(letter.reason)")
                }
            }
            if !json && response.deadLetters.isEmpty { print("no dead letters") }
        }
    }
}
