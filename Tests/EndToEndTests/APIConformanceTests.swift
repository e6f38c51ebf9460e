import BizEvents
import BizTesting
import Foundation
import Testing

extension GatewayEndToEndTests {
    /// The committed copy of the document, pretty-printed with sorted keys so its diffs read well.
    static let committedOpenAPI = BizRetailProcess.packageRoot + "/docs/openapi.json"

    @Test("docs/openapi.json is the document the gateway serves (BIZ_WRITE_OPENAPI=1 rewrites it)")
    func committedOpenAPIDocument() async throws {
        try await withEmbedded { system, https, _ in
            let served = try await https.request("GET", "/openapi.json")
            #expect(served.status == 200)
            let file = system.dataDirectory + "/served-openapi.json"
            try served.body.write(to: URL(fileURLWithPath: file))
            if ProcessInfo.processInfo.environment["BIZ_WRITE_OPENAPI"] == "1" {
                let written = try await Self.python(
                    "import json; d=json.load(open('\(file)')); "
                        + "open('\(Self.committedOpenAPI)','w').write(json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False) + '\\n')"
                )
                #expect(written.status == 0, "\(written.error)")
            }
            let committed = try JSONParser.parse(
                Array(try Data(contentsOf: URL(fileURLWithPath: Self.committedOpenAPI))))
            #expect(
                committed == served.json,
                "docs/openapi.json differs from /openapi.json: run BIZ_WRITE_OPENAPI=1 swift test --filter committedOpenAPI"
            )
        }
    }

    @Test(
        "schemathesis finds no failure with every check, stateful phase included, as a tenant's and the platform's admin"
    )
    func schemathesis() async throws {
        try await withEmbedded { system, https, platform in
            let tenant = try await Self.tenant(
                https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            // The tenant's run first: the platform's admin could disable the tenant's admin.
            for (who, token) in [("tenant admin", tenant.token), ("platform admin", platform)] {
                let result = try await runProgram(
                    "/usr/bin/env",
                    [
                        "PYTHONPATH=" + BizRetailProcess.packageRoot + "/Tests/APIConformance",
                        "SCHEMATHESIS_HOOKS=bizretail_hooks", "schemathesis", "--config-file",
                        BizRetailProcess.packageRoot + "/Tests/APIConformance/schemathesis.toml",
                        "run", https.baseURL + "/openapi.json", "--checks", "all", "--tls-verify", https.caFile,
                        "-H", "Authorization: Bearer \(token)", "--max-examples", "30", "--workers", "2",
                        "--seed", ProcessInfo.processInfo.environment["BIZ_SCHEMATHESIS_SEED"] ?? "1",
                        "--phases", "coverage,fuzzing,stateful", "--no-color",
                    ])
                #expect(result.status == 0, "schemathesis as \(who):\n\(result.output.suffix(12_000))\n\(result.error)")
            }
        }
    }
}
