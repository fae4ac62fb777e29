"""WebSockets for sites (SPEC §8): per-site hubs behind C{GET /ws} on each site host."""
