import MetricsTestKit
import Testing

@testable import BizTelemetry

@Suite("HTTPMetrics")
struct HTTPMetricsTests {
    @Test("counts and times each route, method and status apart, reusing the instruments of one")
    func perRoute() throws {
        let metrics = TestMetrics()
        let http = HTTPMetrics(factory: metrics)
        http.record(route: "/v1/teams", method: "POST", status: 201, duration: .milliseconds(3))
        http.record(route: "/v1/teams", method: "POST", status: 201, duration: .milliseconds(5))
        http.record(route: "/v1/teams/{id}", method: "GET", status: 404, duration: .microseconds(700))

        let created = [
            ("http.route", "/v1/teams"), ("http.request.method", "POST"), ("http.response.status_code", "201"),
        ]
        #expect(try metrics.expectCounter("hb.requests", created).totalValue == 2)
        let timer = try metrics.expectTimer("http.server.request.duration", created)
        #expect(timer.values == [3_000_000, 5_000_000])
        #expect(timer.displayUnit == .seconds)
        let missing = [
            ("http.route", "/v1/teams/{id}"), ("http.request.method", "GET"), ("http.response.status_code", "404"),
        ]
        #expect(try metrics.expectCounter("hb.requests", missing).totalValue == 1)
        #expect(metrics.counters.count == 2)
        #expect(metrics.timers.count == 2)
    }
}
