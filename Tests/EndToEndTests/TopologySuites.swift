import Testing

/// The suites that start a whole distributed topology (four processes, and some their own servers) run one at a
/// time: together they would overload a 2-core machine and time out for that reason alone.
@Suite("Distributed topologies", .serialized)
enum TopologySuites {}
