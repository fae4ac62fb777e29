-- fazt cartridge schema, version 1.
-- Files are content-addressed: a blob is stored once per distinct SHA-256; a deployment is an
-- immutable manifest of path -> blob; a site points at its active deployment.

CREATE TABLE config (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,          -- sha256 hex of the identity content
    size       INTEGER NOT NULL,
    data       BLOB NOT NULL,
    gzip_data  BLOB,                      -- precompressed at deploy time for text types
    br_data    BLOB,
    created_at INTEGER NOT NULL
);

CREATE TABLE sites (
    name                 TEXT PRIMARY KEY,
    active_deployment_id INTEGER REFERENCES deployments(id),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    site_name   TEXT NOT NULL,
    created_at  REAL NOT NULL,
    file_count  INTEGER NOT NULL,
    size_bytes  INTEGER NOT NULL,
    deployed_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deployments_by_site ON deployments(site_name, id);

CREATE TABLE manifests (
    deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    path          TEXT NOT NULL,
    blob_hash     TEXT NOT NULL REFERENCES blobs(hash),
    size          INTEGER NOT NULL,
    content_type  TEXT NOT NULL,
    PRIMARY KEY (deployment_id, path)
) WITHOUT ROWID;
CREATE INDEX manifests_by_blob ON manifests(blob_hash);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,    -- sha256 hex of the token; the token itself is never stored
    scopes       TEXT NOT NULL,           -- space-separated: 'admin', 'deploy:NAME'
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE kv (
    site_name  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (site_name, key)
) WITHOUT ROWID;

CREATE TABLE env_vars (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    site_name  TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (site_name, name)
);

CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    remember_me  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE redirects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '',
    click_count INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    endpoint   TEXT NOT NULL UNIQUE,
    secret     TEXT,
    is_active  INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    domain       TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '',
    source_type  TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    path         TEXT,
    referrer     TEXT,
    user_agent   TEXT,
    visitor_hash TEXT,
    query_params TEXT,
    created_at   REAL NOT NULL
);
CREATE INDEX events_by_time ON events(created_at);
CREATE INDEX events_by_domain ON events(domain, created_at);

CREATE TABLE site_logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    site_name  TEXT NOT NULL,
    level      TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX site_logs_by_site ON site_logs(site_name, id);

CREATE TABLE certificates (
    name          TEXT PRIMARY KEY,
    cert_pem      TEXT NOT NULL,
    key_pem       TEXT NOT NULL,
    not_after     REAL NOT NULL,
    issuer        TEXT NOT NULL DEFAULT '',
    last_attempt  REAL,
    last_error    TEXT,
    updated_at    REAL NOT NULL
);

CREATE TABLE acme_account (
    directory_url TEXT PRIMARY KEY,
    key_pem       TEXT NOT NULL,
    registration  TEXT NOT NULL,
    created_at    REAL NOT NULL
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    resource   TEXT NOT NULL DEFAULT '',
    result     TEXT NOT NULL DEFAULT 'ok',
    details    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_time ON audit_log(created_at);
