import BizServiceKit

/// Team service failures.
public typealias TeamError = ServiceError
