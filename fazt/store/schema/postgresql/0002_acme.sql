-- PostgreSQL twin of ../0002_acme.sql (see 0001_initial.sql for the type mapping).
-- fazt.acme: when each name's certificate is next ordered or renewed, and how the last try went.
-- certificates keeps only issued certificates; this table keeps the back-off of names that have
-- none yet too, so that a restart (or a copied cartridge) neither forgets a failure nor re-orders.
CREATE TABLE certificate_schedule (
    name          TEXT COLLATE "C" PRIMARY KEY,
    failures      BIGINT NOT NULL DEFAULT 0,
    next_attempt  DOUBLE PRECISION NOT NULL DEFAULT 0,
    next_ari      DOUBLE PRECISION,
    last_attempt  DOUBLE PRECISION,
    last_error    TEXT COLLATE "C"
);
