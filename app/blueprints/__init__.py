"""One blueprint per resource."""

from . import audit, holds, operators, sandbox, settlement, transfers, wallets

BLUEPRINTS = (
    operators.blp,
    wallets.blp,
    transfers.blp,
    holds.blp,
    settlement.blp,
    audit.blp,
    sandbox.blp,
)
