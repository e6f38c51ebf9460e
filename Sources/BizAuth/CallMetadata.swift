/// gRPC metadata keys the gateway and services use.
public enum CallMetadata {
    /// `Bearer <access token>` of the end user (or of the calling service).
    public static let authorization = "authorization"
    /// `Bearer <access token>` of the gateway, attesting `clientIP`.
    public static let gatewayAuthorization = "x-biz-gateway-authorization"
    /// The client's IP address as the gateway saw it; trusted only with a valid gateway token.
    public static let clientIP = "x-biz-client-ip"
    /// The W3C trace context of the request.
    public static let traceparent = "traceparent"
    /// The role the gateway's own token carries.
    public static let gatewayRole = "gateway"
}
