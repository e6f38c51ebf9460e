/// Where a call comes from, for methods that run without a token (token issuance): the client IP the auth
/// interceptor established, the same way as a caller's (the gRPC peer, or the address the gateway attests with its
/// own token).
public enum RequestOrigin {
    @TaskLocal public static var clientIP: String?
}
