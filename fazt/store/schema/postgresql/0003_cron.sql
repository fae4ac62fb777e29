-- PostgreSQL twin of ../0003_cron.sql (see 0001_initial.sql for the type mapping).
-- Scheduled JS (fazt.cron): the last minute each cron entry of each site was started in.
-- A run is claimed here before it starts, so a restart (or a second process on the same
-- cartridge) never runs the same minute of an entry twice.
CREATE TABLE cron_runs (
    site_name    TEXT COLLATE "C" NOT NULL REFERENCES sites(name) ON DELETE CASCADE,
    entry        TEXT COLLATE "C" NOT NULL,          -- "SCHEDULE PATH": an unchanged entry keeps its history
    last_minute  BIGINT NOT NULL,       -- Unix seconds // 60 of the last claimed run
    last_outcome TEXT COLLATE "C",                   -- "ok 200", "timeout", ... once the run has ended
    last_ended_at DOUBLE PRECISION,
    PRIMARY KEY (site_name, entry)
);
