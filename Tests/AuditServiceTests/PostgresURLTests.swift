import Testing

@testable import BizStorage

/// `sslmode` defaults: a server off this machine is never reached in plaintext unless the URL says so.
@Suite("PostgreSQL URLs")
struct PostgresURLTests {
    @Test("without sslmode, loopback prefers TLS and any other host requires it; an explicit mode stands")
    func sslModeDefaults() throws {
        #expect(try PostgresURL("postgres://u@127.0.0.1:5432/db").sslMode == "prefer")
        #expect(try PostgresURL("postgres://u@localhost/db").sslMode == "prefer")
        #expect(try PostgresURL("postgres://u@db.internal.example:5432/db").sslMode == "require")
        #expect(try PostgresURL("postgres://u@10.0.0.5/db").sslMode == "require")
        #expect(try PostgresURL("postgres://u@10.0.0.5/db?sslmode=disable").sslMode == "disable")
        #expect(try PostgresURL("postgres://u@10.0.0.5/db?sslmode=verify-full").sslMode == "verify-full")
        #expect(throws: StorageError.self) { try PostgresURL("postgres://u@10.0.0.5/db?sslmode=maybe") }
    }
}
