import BizMessaging

/// A consumer of the platform's event log (topic `audit`), in its own consumer group (its `name`).
public struct EventSubscription: Sendable {
    public var consumer: any EventConsumer

    public init(consumer: any EventConsumer) { self.consumer = consumer }
}
