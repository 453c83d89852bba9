"""Schemas of /v1/operators: operators and their limits."""

from __future__ import annotations

from marshmallow import fields, validate

from .common import Amount, Integer, Output, Pattern, SignedAmount, StrictSchema, no_controls


class OperatorCreate(StrictSchema):
    code = fields.String(
        required=True,
        validate=Pattern(r"^[A-Z][A-Z0-9_]{1,31}$"),
        metadata={"example": "ICBC"},
    )
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_controls])


class OperatorOut(Output):
    code = fields.String()
    name = fields.String()
    reserve = Amount(metadata={"description": "Free reserve at the central bank (tier 1)"})
    position = Amount(
        metadata={"description": "e-CNY the central bank records as held at the operator (tier 1)"}
    )
    vault = Amount(
        metadata={"description": "e-CNY the operator holds and has not handed out (tier 2)"}
    )
    wallets_total = Amount(
        metadata={"description": "Sum of its wallets' available balances (tier 2)"}
    )
    holds = Amount(
        metadata={
            "description": "In escrow (tier 2): its wallets' open holds and the money of its "
            "issuers' red-envelope campaigns"
        }
    )
    offline = Amount(
        metadata={
            "description": "Its wallets' offline purses' loaded e-CNY and its payees' offline "
            "vouchers awaiting validation (tier 2, docs/offline.md)"
        }
    )
    wallet_count = Integer()
    reserve_total = Amount(
        metadata={"description": "Free reserve + reserve consumed by its issuance"}
    )
    reserve_consumed = Amount(
        metadata={"description": "Reserve its issuance consumed (net of redemptions)"}
    )
    open_window_net = SignedAmount(
        metadata={
            "description": "Deferred net settlement: received - sent in the open window (0.00 under gross)"
        }
    )
    net_debit_cap = Amount(metadata={"description": "Most it may owe in a settlement window"})
    utilisation_percent = fields.String(
        allow_none=True,
        metadata={"description": "Its net debit in the open window as a share of its cap"},
    )
    reconciled = fields.Boolean(
        metadata={
            "description": "position + open_window_net == vault + wallets_total + holds + offline"
        }
    )


def _limit_amount(description: str) -> Amount:
    return Amount(
        allow_none=True,
        load_default=None,
        metadata={"description": description + "; null: no limit"},
    )


class LimitsBody(StrictSchema):
    balance_cap = _limit_amount("Most the wallet may hold")
    single_payment = _limit_amount("Most one payment or hold may be")
    daily_out = _limit_amount("Most it may pay out in a sandbox day (UTC+8)")
    annual_out = _limit_amount("Most it may pay out in a sandbox year (UTC+8)")


class LimitsOut(Output):
    balance_cap = Amount(allow_none=True)
    single_payment = Amount(allow_none=True)
    daily_out = Amount(allow_none=True)
    annual_out = Amount(allow_none=True)


class ClassLimitsOut(Output):
    wallet_class = Integer()
    profile = fields.Nested(LimitsOut, metadata={"description": "The rule profile's limits"})
    effective = fields.Nested(
        LimitsOut, metadata={"description": "After the operator's own, lower limits"}
    )


class OperatorLimitsOut(Output):
    operator = fields.String()
    profile = fields.String()
    classes = fields.List(fields.Nested(ClassLimitsOut))
