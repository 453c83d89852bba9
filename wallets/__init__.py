"""The e-CNY sandbox domain core: ledger, tiers, wallets, settlement, audit.

Plain Python over SQLAlchemy Core; nothing here knows about HTTP.
"""
