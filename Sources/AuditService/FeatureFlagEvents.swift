import BizAuth
import BizEvents
import BizFlags
import BizOutbox
import BizServiceKit
import Crypto
import Foundation
import Logging

/// `feature_flag.changed`: each flag the flag file added, redefined or removed, with its definition `before` and
/// `after` (null where it did not exist), through the Audit service's outbox, so the trail records who changed the
/// platform's behaviour and when (`public_id` is the flag's key; the owner is the Audit service, which read the
/// file). Every process that watches the file emits the same event id for the same edit, so the trail keeps one.
struct FeatureFlagEvents {
    static let changed = EventType(entity: "feature_flag", verb: .changed)

    let flags: FeatureFlags
    let outbox: Outbox
    let events: EventFactory
    let subjects: SubjectIDs
    let logger: Logger

    init(_ context: ServiceContext) {
        flags = context.flags
        outbox = context.outbox
        events = context.events
        subjects = SubjectIDs(masterKey: context.masterKey)
        logger = context.logger
    }

    func record() {
        let (outbox, logger) = (self.outbox, self.logger)
        let envelopes = { @Sendable (changes: [FlagChange]) in changes.map(self.envelope) }
        flags.observe { changes in
            do {
                try await outbox.perform { _ in ((), envelopes(changes)) }
            } catch {
                logger.error(
                    "the feature flag changes could not be recorded",
                    metadata: ["flags": "\(changes.map(\.key))", "error.message": "\(error)"])
            }
        }
    }

    func envelope(_ change: FlagChange) -> EventEnvelope {
        var envelope = events.systemEvent(
            Self.changed,
            payload: [
                "public_id": .string(change.key), "key": .string(change.key), "before": change.before ?? .null,
                "after": change.after ?? .null,
            ], ownershipID: subjects.featureFlag(key: change.key))
        let digest = SHA256.hash(
            data: Array(
                ([
                    JSONValue.string(change.key), change.before ?? .null, change.after ?? .null,
                    .string(change.revision),
                ]
                    as JSONValue).canonicalBytes()))
        envelope.eventID = EventID.nameBased(Array(digest))
        return envelope
    }
}

extension FeatureFlagEvents: Sendable {}
