"""One blueprint per resource."""

from . import (
    alerts,
    anonymity,
    audit,
    casinos,
    envelopes,
    events,
    exclusions,
    holds,
    offline,
    operators,
    rules,
    sandbox,
    settlement,
    transfers,
    wallets,
)

BLUEPRINTS = (
    operators.blp,
    wallets.blp,
    transfers.blp,
    holds.blp,
    envelopes.blp,
    offline.blp,
    settlement.blp,
    audit.blp,
    sandbox.blp,
    rules.blp,
    casinos.blp,
    alerts.blp,
    exclusions.blp,
    events.blp,
    anonymity.blp,
)
