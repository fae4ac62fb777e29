-- PostgreSQL twin of ../0004_ops.sql (see 0001_initial.sql for the type mapping).
-- Retention (fazt.store.retention) deletes old rows in small batches by age; these indexes make
-- each batch a short range scan instead of a walk over the whole table.
CREATE INDEX IF NOT EXISTS site_logs_by_time ON site_logs(created_at);
CREATE INDEX IF NOT EXISTS kv_by_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;
