"""One blueprint per resource."""

from . import audit, operators, sandbox, transfers, wallets

BLUEPRINTS = (operators.blp, wallets.blp, transfers.blp, audit.blp, sandbox.blp)
