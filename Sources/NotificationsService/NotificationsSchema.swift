import BizOutbox
import BizStorage

/// The Notifications service's database: webhook subscriptions, and every delivery with its attempts.
public enum NotificationsSchema {
    public static let migrations: [Migration] =
        Outbox.migrations + [
            Migration(id: "notifications.1.create") { flavor in
                [
                    // `secret` and `previous_secret` are sealed with the master key; the previous one signs beside
                    // the current until `previous_secret_until` (a rotation's grace period).
                    """
                    CREATE TABLE webhooks (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        url TEXT NOT NULL,
                        event_types TEXT NOT NULL,
                        secret \(flavor.blobType) NOT NULL,
                        previous_secret \(flavor.blobType),
                        previous_secret_until BIGINT,
                        enabled BOOLEAN NOT NULL,
                        disabled_reason TEXT,
                        version BIGINT NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        deleted_at TEXT)
                    """,
                    "CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id)",
                    // One row per message to send. `dedupe_key` (event, webhook) makes a redelivered event send
                    // once; `body` is what every attempt sends, byte for byte; `lease_until` (ms) keeps a claimed
                    // row from a second sender; `attempt_limit` grows by a round on a manual retry.
                    """
                    CREATE TABLE deliveries (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        dedupe_key TEXT NOT NULL UNIQUE,
                        channel TEXT NOT NULL,
                        webhook_id TEXT,
                        event_id TEXT NOT NULL,
                        event_type TEXT NOT NULL,
                        ownership_id TEXT NOT NULL,
                        body \(flavor.blobType) NOT NULL,
                        status TEXT NOT NULL,
                        attempt_count INTEGER NOT NULL,
                        attempt_limit INTEGER NOT NULL,
                        next_attempt_at BIGINT NOT NULL,
                        lease_until BIGINT,
                        last_error TEXT,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL)
                    """,
                    "CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)",
                    "CREATE INDEX deliveries_tenant ON deliveries (tenant_id, id)",
                    """
                    CREATE TABLE delivery_attempts (
                        id \(flavor.autoIncrementPrimaryKey),
                        delivery_id BIGINT NOT NULL,
                        number INTEGER NOT NULL,
                        started_at TEXT NOT NULL,
                        duration_ms BIGINT NOT NULL,
                        response_code INTEGER NOT NULL,
                        outcome TEXT NOT NULL,
                        error TEXT)
                    """,
                    "CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, number)",
                ]
            }
        ]
}
