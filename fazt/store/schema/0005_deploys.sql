-- Traffic split and image variants (SPEC §15). Previews need no table: every deployment of a
-- site is already a row of deployments, reachable at d<ID>--NAME.D whether active or not.

-- A site's traffic split: the deployments served by weight, sticky per visitor. No rows: no split.
-- A switch of the site (deploy, rollback, promote) ends it (fazt.store.sites.activate).
CREATE TABLE site_splits (
    site_name     TEXT NOT NULL,
    deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    weight        INTEGER NOT NULL CHECK (weight > 0),
    PRIMARY KEY (site_name, deployment_id)
) WITHOUT ROWID;

-- Image variants made from a deployed image (fazt.images): keyed by the source blob's hash and
-- the normalized parameters, so the same image in any deployment shares them. They go with the
-- source blob when no deployment uses it any more.
CREATE TABLE derived_blobs (
    source_hash  TEXT NOT NULL,
    params       TEXT NOT NULL,
    hash         TEXT NOT NULL,          -- sha256 hex of data: the variant's ETag
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (source_hash, params)
) WITHOUT ROWID;
