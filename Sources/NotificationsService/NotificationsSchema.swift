import BizOutbox
import BizStorage

/// The Notifications service's database: webhook subscriptions, templates and rules, what recipients resolve
/// against, and every delivery with its attempts.
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
            },
            Migration(id: "notifications.2.rules") { flavor in
                [
                    // `locales`: {"pt-BR": {"subject", "text", "html"}, …}, as JSON.
                    """
                    CREATE TABLE notification_templates (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        template_key TEXT NOT NULL,
                        locales TEXT NOT NULL,
                        version BIGINT NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        deleted_at TEXT)
                    """,
                    """
                    CREATE UNIQUE INDEX notification_templates_key ON notification_templates (tenant_id, template_key)
                    WHERE deleted_at IS NULL
                    """,
                    // `event_types`, `recipients`, `changed_fields`: JSON arrays.
                    """
                    CREATE TABLE notification_rules (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        event_types TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        template_key TEXT NOT NULL,
                        recipients TEXT NOT NULL,
                        locale TEXT NOT NULL,
                        changed_fields TEXT NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        version BIGINT NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        deleted_at TEXT)
                    """,
                    "CREATE INDEX notification_rules_tenant ON notification_rules (tenant_id, id)",
                    // The tenants whose defaults were made (once: a tenant may delete them).
                    "CREATE TABLE seeded_tenants (tenant_id TEXT PRIMARY KEY, seeded_at TEXT NOT NULL)",
                    // What recipients resolve against, kept from the events: the users of each tenant (`role`) and
                    // each tenant's contractor contact (`contractor_contact`).
                    """
                    CREATE TABLE known_users (
                        tenant_id TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        email TEXT NOT NULL,
                        roles TEXT NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        version BIGINT NOT NULL,
                        PRIMARY KEY (tenant_id, user_id))
                    """,
                    """
                    CREATE TABLE known_contractors (
                        tenant_id TEXT PRIMARY KEY,
                        contact_email TEXT NOT NULL,
                        version BIGINT NOT NULL)
                    """,
                    // The last state seen of entities a rule's `changed` watches: a digest per payload field.
                    """
                    CREATE TABLE entity_states (
                        entity_key TEXT PRIMARY KEY,
                        version BIGINT NOT NULL,
                        fields TEXT NOT NULL)
                    """,
                    "ALTER TABLE deliveries ADD COLUMN rule_id TEXT",
                    "ALTER TABLE deliveries ADD COLUMN recipient TEXT",
                ]
            },
            Migration(id: "notifications.3.inbox") { flavor in
                [
                    // In-app notifications: one per event, rule and user (`dedupe_key`), read when `read_at` is set.
                    """
                    CREATE TABLE inbox (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        dedupe_key TEXT NOT NULL UNIQUE,
                        rule_id TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        event_type TEXT NOT NULL,
                        ownership_id TEXT NOT NULL,
                        title TEXT NOT NULL,
                        body TEXT NOT NULL,
                        created_at TEXT NOT NULL,
                        read_at TEXT)
                    """,
                    "CREATE INDEX inbox_user ON inbox (tenant_id, user_id, id)",
                ]
            },
        ]
}
