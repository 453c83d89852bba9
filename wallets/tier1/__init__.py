"""Tier 1: the central bank's side — authorised operators, issuance and redemption, interbank settlement."""
