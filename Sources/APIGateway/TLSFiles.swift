import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The gateway's TLS certificate: the operator's (`BIZ_TLS_CERT` / `BIZ_TLS_KEY`, PEM files), or a self-signed
/// certificate for localhost generated into `<data-dir>/tls/` on first start.
public struct TLSFiles: Sendable {
    public var certificatePath: String
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }

    /// Uses the given files, or creates (once) a self-signed pair in `directory`.
    public static func resolve(certificate: String?, privateKey: String?, directory: URL) throws -> TLSFiles {
        switch (certificate, privateKey) {
        case (let certificate?, let privateKey?):
            return TLSFiles(certificatePath: certificate, privateKeyPath: privateKey)
        case (nil, nil):
            let folder = directory.appendingPathComponent("tls")
            let files = TLSFiles(
                certificatePath: folder.appendingPathComponent("cert.pem").path,
                privateKeyPath: folder.appendingPathComponent("key.pem").path
            )
            if !FileManager.default.fileExists(atPath: files.certificatePath) {
                try FileManager.default.createDirectory(
                    at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try files.writeSelfSigned()
            }
            return files
        default:
            throw GatewayConfigurationError("BIZ_TLS_CERT and BIZ_TLS_KEY must be set together")
        }
    }

    func writeSelfSigned() throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName("localhost")
            OrganizationName("Biz Retail (self-signed)")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(825 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                KeyUsage(digitalSignature: true)
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([
                    .dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
                ])
            },
            issuerPrivateKey: .init(key)
        )
        let certificatePEM = try certificate.serializeAsPEM().pemString
        _ = FileManager.default.createFile(
            atPath: privateKeyPath, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data(key.pemRepresentation.utf8).write(to: URL(fileURLWithPath: privateKeyPath))
        try Data(certificatePEM.utf8).write(to: URL(fileURLWithPath: certificatePath))
    }

    /// A server configuration offering HTTP/2 and HTTP/1.1 (ALPN).
    public func serverConfiguration() throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw GatewayConfigurationError(
                "cannot read the TLS certificate or key (\(certificatePath), \(privateKeyPath))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)
        )
        configuration.applicationProtocols = ["h2", "http/1.1"]
        // TLS 1.0 and 1.1 are deprecated (RFC 8996).
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}

public struct GatewayConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
