import BizEvents
import Testing

@Suite("RFC 3339 timestamps")
struct TimestampTests {
    @Test(
        "parses any RFC 3339 date-time and writes UTC with milliseconds",
        arguments: [
            ("2024-06-22T12:00:00Z", "2024-06-22T12:00:00.000Z"),
            ("2024-06-22T12:00:00.1234567Z", "2024-06-22T12:00:00.123Z"),
            ("2024-06-22t09:00:00-03:00", "2024-06-22T12:00:00.000Z"),
            ("2024-02-29T23:59:59.999+00:00", "2024-02-29T23:59:59.999Z"),
            ("1969-12-31T23:59:59.500Z", "1969-12-31T23:59:59.500Z"),
        ]
    )
    func parses(_ input: String, _ expected: String) throws {
        let timestamp = try #require(EventTimestamp(rfc3339: input))
        #expect(timestamp.rfc3339 == expected)
    }

    @Test(
        "refuses what is not an RFC 3339 date-time",
        arguments: [
            "2024-06-22", "2024-06-22 12:00:00Z", "2023-02-29T00:00:00Z", "2024-06-22T12:00:00", "yesterday",
            "2024-06-22T24:00:00Z", "2024-06-22T12:00:00.Z",
        ]
    )
    func refuses(_ input: String) {
        #expect(EventTimestamp(rfc3339: input) == nil)
    }
}

@Suite("JSON parsing and canonical encoding")
struct JSONTests {
    @Test("canonical encoding sorts keys and drops white space")
    func canonical() throws {
        let value = try JSONParser.parse(
            Array(#"{ "b": [1, 2.5, -0.25e1], "a": {"y": null, "x": "\u00e9\ud83d\ude00"} }"#.utf8))
        #expect(value.canonicalString() == #"{"a":{"x":"é😀","y":null},"b":[1,2.5,-2.5]}"#)
    }

    @Test("integers stay integers")
    func integers() throws {
        #expect(try JSONParser.parse(Array("9007199254740993".utf8)) == .integer(9_007_199_254_740_993))
    }

    @Test(
        "invalid JSON is refused",
        arguments: ["", "{", "[1,]", "{\"a\":1,}", "01", "\"\\x\"", "tru", "{\"a\" 1}", "\"\u{01}\"", "1 2", "NaN"]
    )
    func invalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test("deep nesting is refused instead of exhausting the stack")
    func deepNesting() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
    }
}

@Suite("Hex encoding")
struct HexTests {
    @Test("bytes become two lowercase hex digits each")
    func hex() {
        #expect([UInt8]([0x00, 0x0f, 0xa0, 0xff]).hexString == "000fa0ff")
        #expect([UInt8]().hexString == "")
    }
}
