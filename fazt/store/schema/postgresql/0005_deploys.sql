-- Traffic split and image variants (SPEC §15), for PostgreSQL: the twin of ../0005_deploys.sql.

CREATE TABLE site_splits (
    site_name     TEXT COLLATE "C" NOT NULL,
    deployment_id BIGINT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    weight        BIGINT NOT NULL CHECK (weight > 0),
    PRIMARY KEY (site_name, deployment_id)
);

CREATE TABLE derived_blobs (
    source_hash  TEXT COLLATE "C" NOT NULL,
    params       TEXT COLLATE "C" NOT NULL,
    hash         TEXT COLLATE "C" NOT NULL,
    content_type TEXT COLLATE "C" NOT NULL,
    size         BIGINT NOT NULL,
    data         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (source_hash, params)
);
