-- fazt.acme: when each name's certificate is next ordered or renewed, and how the last try went.
-- certificates keeps only issued certificates; this table keeps the back-off of names that have
-- none yet too, so that a restart (or a copied cartridge) neither forgets a failure nor re-orders.
CREATE TABLE certificate_schedule (
    name          TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL DEFAULT 0,
    next_attempt  REAL NOT NULL DEFAULT 0,
    next_ari      REAL,
    last_attempt  REAL,
    last_error    TEXT
);
