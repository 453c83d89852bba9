"""Schemas of /v1/settlement: the settlement model, windows, reports."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.tier1 import settlement
from wallets.tier1.settlement import NDC_ALERT_PERCENT, NDC_RESERVE_RATIO

from .common import (
    Amount,
    Input,
    Integer,
    Output,
    Pattern,
    Setting,
    SignedAmount,
    StrictSchema,
    one_of,
)


class SettlementSettingsOut(Output):
    model = one_of(settlement.MODELS)
    ndc_reserve_ratio = fields.String(metadata={"description": "Default NDC = free reserve x this"})
    ndc_alert_percent = fields.String(
        metadata={
            "description": "Alert when a net debit reaches this % of its NDC (at exactly it too)"
        }
    )
    cutoff = fields.String(
        allow_none=True, metadata={"description": "Daily window close, local time HH:MM (UTC+8)"}
    )


class SettlementSettingsBody(StrictSchema):
    model = fields.String(validate=validate.OneOf(settlement.MODELS))
    ndc_reserve_ratio = Setting(NDC_RESERVE_RATIO)
    ndc_alert_percent = Setting(NDC_ALERT_PERCENT)
    cutoff = fields.String(allow_none=True, validate=Pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))


class NetDebitCapBody(StrictSchema):
    net_debit_cap = Amount(
        required=True,
        allow_none=True,
        allow_zero=True,
        metadata={
            "description": "null: derived from the free reserve; 0.00: it may not owe at all"
        },
    )


class WindowPositionOut(Output):
    operator = fields.String()
    sent = Amount()
    received = Amount()
    net = SignedAmount()
    net_debit_cap = Amount(allow_none=True)
    utilisation_percent = fields.String(allow_none=True)
    peak_debit = Amount()


class WindowOut(Output):
    id = Integer()
    status = one_of(settlement.WINDOW_STATUSES)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(allow_none=True)
    settlement_transfer_id = Integer(allow_none=True)
    positions = fields.List(fields.Nested(WindowPositionOut))


class ReportOperatorOut(Output):
    operator = fields.String()
    sent = fields.String()
    received = fields.String()
    net = fields.String()
    net_debit_cap = fields.String(allow_none=True)
    peak_debit = fields.String()
    peak_utilisation_percent = fields.String(allow_none=True)


class Tier1MoveOut(Output):
    debit_account = fields.String()
    credit_account = fields.String()
    amount = fields.String()


class SettlementReportOut(Output):
    window_id = Integer()
    settlement_transfer_id = Integer(allow_none=True)
    operators = fields.List(fields.Nested(ReportOperatorOut))
    tier1_moves = fields.List(fields.Nested(Tier1MoveOut))


class ReportArgs(Input):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
