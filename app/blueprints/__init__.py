"""One blueprint per resource."""

from . import audit, holds, operators, sandbox, transfers, wallets

BLUEPRINTS = (operators.blp, wallets.blp, transfers.blp, holds.blp, audit.blp, sandbox.blp)
