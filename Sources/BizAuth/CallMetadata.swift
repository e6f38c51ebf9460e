/// gRPC metadata keys the gateway and services use.
public enum CallMetadata {
    /// `Bearer <access token>` of the end user (or of the calling service).
    public static let authorization = "authorization"
    /// `Bearer <access token>` of the platform service making the call (the gateway, or a service calling another),
    /// attesting `clientIP`: a ``ServiceAccount``'s token whose audience is the called service.
    public static let serviceAuthorization = "x-biz-service-authorization"
    /// The client's IP address as the calling service saw it; trusted only with a valid service token.
    public static let clientIP = "x-biz-client-ip"
    /// The W3C trace context of the request.
    public static let traceparent = "traceparent"
    /// The role the gateway's own token carries.
    public static let gatewayRole = "gateway"
}
