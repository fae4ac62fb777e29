"""Analytics: events from hosted sites, /track, /pixel.gif, redirects and webhooks (SPEC §10).

Events are built by the pure functions of L{fazt.analytics.events}, queued in memory by an
L{fazt.analytics.buffer.EventBuffer} and written in batches; no raw IP address is ever stored,
only a visitor hash salted per day (L{fazt.analytics.visitors}).
"""
