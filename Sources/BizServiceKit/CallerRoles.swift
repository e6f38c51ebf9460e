import BizAuth

extension Caller {
    /// Any of the platform's user roles may read a tenant's resources.
    public static let readers: Set<String> = ["admin", "manager", "viewer"]
    /// Admins and managers change them.
    public static let writers: Set<String> = ["admin", "manager"]

    /// The current caller, when its roles allow reading (or, with `writing`, changing) the tenant's resources.
    public static func require(writing: Bool) throws -> Caller {
        let caller = try Caller.require()
        let allowed = writing ? writers : readers
        guard caller.principal.roles.contains(where: allowed.contains) else {
            throw AuthError.forbidden(writing ? "this needs the admin or manager role" : "this needs a user role")
        }
        return caller
    }
}
