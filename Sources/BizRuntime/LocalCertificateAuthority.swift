import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority of one deployment, for mutual TLS between its processes (`biz-retail certs`): a CA key and
/// certificate, and one certificate per process name signed by it, valid as TLS server and client, for the given
/// host names and addresses. Keys are written 0600.
public struct LocalCertificateAuthority {
    public let directory: URL
    /// DNS names and IP addresses every certificate is valid for.
    public let hosts: [String]

    public init(directory: URL, hosts: [String]) {
        self.directory = directory
        self.hosts = hosts
    }

    public var caCertificateFile: URL { directory.appendingPathComponent("ca.pem") }
    public func certificateFile(_ name: String) -> URL { directory.appendingPathComponent("\(name).pem") }
    public func privateKeyFile(_ name: String) -> URL { directory.appendingPathComponent("\(name)-key.pem") }

    /// Creates the CA when missing, then a certificate for each name that has none; returns the names written.
    @discardableResult
    public func issue(_ names: [String]) throws -> [String] {
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let (caKey, caCertificate) = try authority()
        var written: [String] = []
        for name in names where !FileManager.default.fileExists(atPath: certificateFile(name).path) {
            let key = P256.Signing.PrivateKey()
            let now = Date()
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(825 * 86_400),
                issuer: caCertificate.subject,
                subject: try DistinguishedName {
                    CommonName(name)
                    OrganizationName("Biz Retail")
                },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                    SubjectAlternativeNames(subjectAlternativeNames(name))
                },
                issuerPrivateKey: .init(caKey))
            try write(key: key, certificate: certificate, as: name)
            written.append(name)
        }
        return written
    }

    /// The CA's key and certificate, created on first use.
    private func authority() throws -> (P256.Signing.PrivateKey, Certificate) {
        if let keyPEM = try? String(contentsOf: privateKeyFile("ca"), encoding: .utf8),
            let certificatePEM = try? String(contentsOf: caCertificateFile, encoding: .utf8)
        {
            return (try P256.Signing.PrivateKey(pemRepresentation: keyPEM), try Certificate(pemEncoded: certificatePEM))
        }
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName("Biz Retail local CA")
            OrganizationName("Biz Retail")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        try write(key: key, certificate: certificate, as: "ca")
        return (key, certificate)
    }

    private func subjectAlternativeNames(_ name: String) -> [GeneralName] {
        ([name] + hosts).map { host in
            if let address = IPv4Address(host) { return .ipAddress(ASN1OctetString(contentBytes: address.bytes[...])) }
            return .dnsName(host)
        }
    }

    private func write(key: P256.Signing.PrivateKey, certificate: Certificate, as name: String) throws {
        let keyFile = name == "ca" ? privateKeyFile("ca") : privateKeyFile(name)
        let certificateFile = name == "ca" ? caCertificateFile : certificateFile(name)
        _ = FileManager.default.createFile(atPath: keyFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data(key.pemRepresentation.utf8).write(to: keyFile)
        try Data(try certificate.serializeAsPEM().pemString.utf8).write(to: certificateFile)
    }
}

/// A dotted IPv4 address, for a certificate's subject alternative names.
struct IPv4Address {
    let bytes: [UInt8]

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        guard bytes.count == 4 else { return nil }
        self.bytes = bytes
    }
}
