/// The OpenAPI 3.1 description served at `/openapi.json` (kept in sync with the routes by a test).
enum OpenAPIDocument {
    static let json = #"{"openapi":"3.1.0","info":{"title":"Biz Retail API","version":"1.0.0"},"paths":{}}"#
}
