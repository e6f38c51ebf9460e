import BizOutbox
import BizStorage

/// The Identity Provider's database: users, OAuth2 clients, signing keys, refresh tokens, and its outbox.
public enum IdentitySchema {
    public static let migrations: [Migration] =
        Outbox.migrations + [
            Migration(id: "identity.1.create") { flavor in
                [
                    """
                    CREATE TABLE users (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        email TEXT NOT NULL,
                        name TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        roles TEXT NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        UNIQUE (tenant_id, email))
                    """,
                    "CREATE INDEX users_email ON users (email)",
                    """
                    CREATE TABLE oauth_clients (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        client_id TEXT NOT NULL UNIQUE,
                        secret_hash TEXT NOT NULL,
                        name TEXT NOT NULL,
                        tenant_id TEXT NOT NULL,
                        roles TEXT NOT NULL,
                        grant_types TEXT NOT NULL,
                        first_party BOOLEAN NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        created_at TEXT NOT NULL)
                    """,
                    """
                    CREATE TABLE signing_keys (
                        kid TEXT PRIMARY KEY,
                        algorithm TEXT NOT NULL,
                        sealed_private_key \(flavor.blobType) NOT NULL,
                        created_at TEXT NOT NULL,
                        retired_at TEXT)
                    """,
                    """
                    CREATE TABLE refresh_tokens (
                        token_hash TEXT PRIMARY KEY,
                        family_id TEXT NOT NULL,
                        user_public_id TEXT NOT NULL,
                        client_id TEXT NOT NULL,
                        scope TEXT NOT NULL,
                        expires_at TEXT NOT NULL,
                        used_at TEXT,
                        revoked_at TEXT)
                    """,
                    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
                ]
            },
            // One email, one user, across tenants: a login by email is never ambiguous, and a tenant cannot create
            // another tenant's administrator's address to make that person's login fail. (A database that already
            // holds one email in two tenants stops here, naming the constraint: merge or rename them first.)
            Migration(id: "identity.2.global-email") { _ in
                ["DROP INDEX users_email", "CREATE UNIQUE INDEX users_email ON users (email)"]
            },
            // Users are managed over HTTPS with ETag / If-Match.
            Migration(id: "identity.3.user-version") { _ in
                ["ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1"]
            },
            // Clients name where authorization responses may go (space-separated, as roles and grant types).
            Migration(id: "identity.4.redirect-uris") { _ in
                ["ALTER TABLE oauth_clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT ''"]
            },
            // Browser sign-in: sessions (the cookie's hash), one-time authorization codes bound to their PKCE
            // challenge, and the time of the sign-in a refresh token descends from (the ID token's auth_time).
            Migration(id: "identity.5.authorization-code") { _ in
                [
                    """
                    CREATE TABLE sessions (
                        session_hash TEXT PRIMARY KEY,
                        user_public_id TEXT NOT NULL,
                        auth_time BIGINT NOT NULL,
                        expires_at TEXT NOT NULL,
                        ended_at TEXT)
                    """,
                    "CREATE INDEX sessions_user ON sessions (user_public_id)",
                    """
                    CREATE TABLE authorization_codes (
                        code_hash TEXT PRIMARY KEY,
                        client_id TEXT NOT NULL,
                        user_public_id TEXT NOT NULL,
                        redirect_uri TEXT NOT NULL,
                        scope TEXT NOT NULL,
                        nonce TEXT NOT NULL,
                        code_challenge TEXT NOT NULL,
                        auth_time BIGINT NOT NULL,
                        family_id TEXT NOT NULL,
                        expires_at TEXT NOT NULL,
                        used_at TEXT)
                    """,
                    "ALTER TABLE refresh_tokens ADD COLUMN auth_time BIGINT",
                ]
            },
            // Failed logins per username (registered or not), for growing delays and the temporary lockout; times in
            // milliseconds since 1970.
            Migration(id: "identity.6.login-failures") { _ in
                [
                    """
                    CREATE TABLE login_failures (
                        username TEXT PRIMARY KEY,
                        failures BIGINT NOT NULL,
                        last_failed_at BIGINT NOT NULL,
                        locked_until BIGINT)
                    """
                ]
            },
            // A platform client's secret rotated by the configuration stays accepted for a grace period.
            Migration(id: "identity.7.previous-secret") { _ in
                [
                    "ALTER TABLE oauth_clients ADD COLUMN previous_secret_hash TEXT NOT NULL DEFAULT ''",
                    "ALTER TABLE oauth_clients ADD COLUMN previous_secret_until BIGINT NOT NULL DEFAULT 0",
                ]
            },
        ]
}
