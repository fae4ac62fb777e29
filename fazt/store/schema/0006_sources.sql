-- SPEC §15: deployments from Git, sites linked to a repository, custom domains.

-- Where a deployment came from, when it came from Git (one row per such deployment; it goes
-- with its deployment when that is pruned or its site deleted).
CREATE TABLE deployment_sources (
    deployment_id INTEGER PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
    source_url    TEXT NOT NULL,
    source_ref    TEXT NOT NULL,       -- the ref as resolved, e.g. refs/heads/main
    source_commit TEXT NOT NULL        -- the commit's hex id
);

-- A site linked to a repository and branch: a signed push to that branch redeploys it. The
-- secret is the push webhook's HMAC key: kept here, in no table that scripts can read.
CREATE TABLE git_links (
    site_name  TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    ref        TEXT NOT NULL,          -- refs/heads/BRANCH
    dir        TEXT NOT NULL DEFAULT '',
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Custom domains: a host name served by a site. www: 'none' (only the name), 'serve' (www.NAME
-- too), 'redirect' (www.NAME redirects to NAME).
CREATE TABLE domains (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    site_name  TEXT NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    www        TEXT NOT NULL DEFAULT 'none' CHECK (www IN ('none', 'serve', 'redirect')),
    created_at INTEGER NOT NULL
);
CREATE INDEX domains_by_site ON domains(site_name);
