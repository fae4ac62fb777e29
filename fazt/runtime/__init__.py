"""Serverless JavaScript runtime: worker processes, host calls and SSRF-safe fetch (SPEC section 7)."""
