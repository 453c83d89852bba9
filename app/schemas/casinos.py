"""Schemas of /v1/casinos: casinos, the cage, gaming days."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.casino.model import OPERATION_KINDS
from wallets.core.schema import MAX_ID, MAX_ID32
from wallets.supervision import alerts

from .common import (
    GAMING_DAY_PATTERN,
    PAYMENT_CODE_MAX_LENGTH,
    Amount,
    IdPageArgs,
    Integer,
    Output,
    PageArgs,
    SignedAmount,
    StrictSchema,
    casino_ref_field,
    no_controls,
    one_of,
    reference_field,
    wallet_id,
)
from .transfers import TransferOut


class CasinoCreate(StrictSchema):
    ref = casino_ref_field(required=True)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_controls])
    operator = fields.String(
        validate=validate.Length(max=32),
        metadata={"description": "Where to open its merchant wallet (unless merchant_wallet)"},
    )
    merchant_wallet = wallet_id(
        metadata={"description": "An existing merchant wallet to use instead of opening one"}
    )
    treasury_wallet = wallet_id(
        required=True, metadata={"description": "The government wallet its gaming taxes go to"}
    )
    float_amount = Amount(
        data_key="float",
        required=True,
        allow_zero=True,
        metadata={"description": "e-CNY its wallet keeps after the day's sweep; funded now"},
    )
    supervisors = fields.List(
        Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID32)),
        load_default=list,
        metadata={"description": "Ids of supervisor keys to add this casino to"},
    )


class SupervisorOut(Output):
    key_id = Integer()
    label = fields.String(allow_none=True)


class CasinoOut(Output):
    ref = fields.String()
    name = fields.String()
    operator = fields.String(attribute="operator_code")
    chip_asset = fields.String()
    merchant_wallet = Integer(attribute="merchant_wallet_id")
    treasury_wallet = Integer(attribute="treasury_wallet_id")
    float_amount = Amount(data_key="float")
    merchant_balance = Amount(metadata={"description": "e-CNY in its merchant wallet"})
    chips_with_players = Amount(metadata={"description": "Chips out with players, now"})
    supervisors = fields.List(fields.Nested(SupervisorOut))
    created_at = fields.DateTime()


class CashOutBody(StrictSchema):
    player = wallet_id(required=True, metadata={"description": "The player's wallet"})
    amount = Amount(required=True)
    reference = reference_field()


class BuyInBody(CashOutBody):
    payment_code = fields.String(
        validate=validate.Length(min=1, max=PAYMENT_CODE_MAX_LENGTH),
        metadata={
            "description": "A payment code of the player's wallet (POST "
            "/v1/wallets/{id}/payment-codes): the holder's consent to this debit. "
            "Required when the rule profile says so (macau: yes); used once",
            "example": "pc_3q2-Vb0XkZr7mC1nqYf0dP9sUu4hLwQe",
        },
    )


class PlayBody(StrictSchema):
    player = wallet_id(required=True, metadata={"description": "The player's wallet"})
    wager = Amount(required=True, metadata={"description": "Chips wagered: turnover"})
    payout = Amount(
        load_default=0,
        allow_zero=True,
        metadata={"description": "Chips paid back, stake included (default 0.00: lost)"},
    )
    reference = reference_field()


class AlertBriefOut(Output):
    id = Integer()
    type = one_of(alerts.TYPES)
    summary = fields.String()


class CageOperationOut(Output):
    id = Integer(metadata={"description": "The cage operation's id"})
    casino = fields.String(attribute="casino_ref")
    kind = one_of(OPERATION_KINDS)
    player = Integer(attribute="wallet_id")
    gaming_day = fields.Date()
    at = fields.DateTime()
    amount = Amount(metadata={"description": "Bought in, cashed out, or wagered"})
    payout = Amount(allow_zero=True)
    transfers = fields.List(fields.Nested(TransferOut))
    alerts = fields.List(fields.Nested(AlertBriefOut), metadata={"description": "Raised by it"})


class OperationOut(Output):
    id = Integer()
    casino = fields.String(attribute="casino_ref")
    kind = one_of(OPERATION_KINDS)
    player = Integer(attribute="wallet_id")
    holder_id = fields.String()
    gaming_day = fields.Date()
    at = fields.DateTime()
    amount = Amount()
    payout = Amount(allow_zero=True)
    transfer_ids = fields.List(Integer())


class OperationListArgs(IdPageArgs):
    wallet = Integer(validate=validate.Range(min=1, max=MAX_ID))
    gaming_day = fields.Date()


class PlayerDayOut(Output):
    gaming_day = fields.Date()
    player = Integer(attribute="wallet_id")
    holder_id = fields.String()
    buy_ins = Amount(allow_zero=True)
    cash_outs = Amount(allow_zero=True)
    turnover = Amount(attribute="wagered", allow_zero=True)
    payouts = Amount(attribute="paid_out", allow_zero=True)
    net_result = SignedAmount(
        metadata={"description": "payouts - turnover: the player's win (negative: loss)"}
    )
    transactions = Integer()


class GamingDayArgs(PageArgs):
    after = fields.String(
        load_default=None,
        metadata={
            "description": "Cursor: next_after of the previous page (a gaming day)",
            "format": "date",
            "pattern": GAMING_DAY_PATTERN,
        },
    )


class CheckResultOut(Output):
    name = fields.String()
    ok = fields.Boolean()
    figures = fields.Dict()
    problems = fields.List(fields.String())


class TaxOut(Output):
    rate = fields.String(metadata={"example": "0.35"})
    amount = fields.String(metadata={"example": "1234.50"})
    transfer_id = Integer(allow_none=True)


class SweepOut(Output):
    float_amount = fields.String(attribute="float", data_key="float")
    balance_before = fields.String()
    amount = fields.String()
    transfer_id = Integer(allow_none=True)


class ChipsOut(Output):
    at_start = fields.String()
    at_end = fields.String()


class GamingDayReportOut(Output):
    casino = fields.String()
    gaming_day = fields.String(metadata={"example": "2026-03-02"})
    starts_at = fields.String()
    ends_at = fields.String()
    closed_at = fields.String()
    players = Integer()
    buy_ins = fields.String()
    cash_outs = fields.String()
    turnover = fields.String()
    payouts = fields.String()
    ggr = fields.String(metadata={"description": "Gross gaming revenue: turnover - payouts"})
    special_gaming_tax = fields.Nested(TaxOut)
    contributions = fields.Nested(TaxOut)
    sweep = fields.Nested(SweepOut)
    chips_with_players = fields.Nested(ChipsOut)
    checks = fields.List(fields.Nested(CheckResultOut))
    ok = fields.Boolean(metadata={"description": "Every check passed"})
