"""Tier 2, retail wallets: classes and lifecycle, class limits, payments and refunds, holds, payment codes, statements."""
