"""Automatic HTTPS: ACME (RFC 8555) certificates kept in the cartridge, chosen by SNI (SPEC §11)."""
