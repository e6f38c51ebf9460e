import ArgumentParser
import BizProtos
import GRPCCore

struct Identity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the Identity Provider of a running system.",
        subcommands: [RotateKeys.self]
    )

    struct RotateKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-keys",
            abstract: "Sign new tokens with a new key; tokens signed before keep working until they expire.")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { client, metadata in
                try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).rotateSigningKeys(
                    .init(), metadata: metadata)
            }
            print("new signing key \(response.kid); the key set serves \(response.servedKids.joined(separator: ", "))")
        }
    }
}
