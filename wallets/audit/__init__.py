"""Audit: invariants, the hash chain, exports and verification."""
