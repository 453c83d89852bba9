"""The casino's value types: a registered casino, a cage operation and its kinds,
shared by the registry, the cage and the cage's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ..ledger.accounts import chip_asset
from ..ledger.journal import PostedTransfer
from ..supervision.alerts import Alert

BUY_IN, PLAY, CASH_OUT = "buy_in", "play", "cash_out"
OPERATION_KINDS = (BUY_IN, PLAY, CASH_OUT)


@dataclass(frozen=True)
class Casino:
    id: int
    ref: str
    name: str
    operator_id: int
    operator_code: str
    merchant_wallet_id: int
    treasury_wallet_id: int
    chip_account_id: int
    float_amount: int
    created_at: datetime
    # Contribution name (of the rule profile) -> the wallet it is paid to.
    beneficiaries: dict[str, int] = field(default_factory=dict)
    # The chips in circulation DICJ approved (Law 7/2022), in chips; None: none recorded.
    chips_approved: int | None = None
    # CNY, HKD or MOP: chip amounts are fen, cents or avos of it (casino/fx.py).
    chip_currency: str = "CNY"

    @property
    def chip_asset(self) -> str:
        return chip_asset(self.ref)


@dataclass(frozen=True)
class CageOperation:
    id: int
    casino_ref: str
    kind: str
    wallet_id: int
    gaming_day: date
    at: datetime
    amount: int
    payout: int
    transfers: list[PostedTransfer]
    alerts: list[Alert]
    chip_currency: str = "CNY"
    # Buy-ins and cash-outs: the e-CNY paid (fen) and the rate (chips per CNY).
    ecny_amount: int | None = None
    rate: Decimal | None = None


def operation_transfer_ids(row) -> list[int]:
    """The transfers of a recorded operation, in posting order."""
    ids = (
        [row.ecny_transfer_id, row.chip_transfer_id]
        if row.kind == BUY_IN
        else [row.chip_transfer_id, row.ecny_transfer_id, row.payout_transfer_id]
    )
    return [i for i in ids if i is not None]
