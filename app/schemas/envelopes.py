"""Schemas of /v1/envelope-campaigns: red envelopes (docs/programmable.md)."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.retail import campaigns
from wallets.retail import wallet as wl

from .common import (
    Amount,
    IdPageArgs,
    Instant,
    Integer,
    Output,
    Pattern,
    StrictSchema,
    no_controls,
    one_of,
    wallet_id,
)


class CampaignCreate(StrictSchema):
    issuer_wallet = wallet_id(
        required=True,
        metadata={
            "description": "The issuer: a merchant (corporate) wallet, which pays it all now"
        },
    )
    name = fields.String(required=True, validate=[validate.Length(min=1, max=140), no_controls])
    amount = Amount(required=True, metadata={"description": "Per envelope"})
    envelopes = Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1, max=campaigns.MAX_ENVELOPES),
        metadata={"description": "How many envelopes; amount x envelopes leaves the issuer"},
    )
    valid_from = Instant(metadata={"description": "When envelopes may be spent (default: now)"})
    valid_until = Instant(
        required=True,
        metadata={"description": "When the campaign ends: unspent money back to the issuer"},
    )
    claimable = fields.Boolean(
        load_default=False,
        metadata={"description": "Envelopes may be claimed first-come (else: granted by list)"},
    )
    regions = fields.List(
        fields.String(validate=Pattern(r"^[A-Z]{2}$")),
        validate=validate.Length(min=1, max=50),
        metadata={"description": "Spendable only at merchants of these regions (default: any)"},
    )
    merchant_categories = fields.List(
        fields.String(validate=validate.OneOf(wl.MERCHANT_CATEGORIES)),
        validate=validate.Length(min=1, max=len(wl.MERCHANT_CATEGORIES)),
        metadata={"description": "Spendable only at merchants of these categories (default: any)"},
    )
    min_payment = Amount(metadata={"description": "Spendable only on payments of at least this"})


class CampaignOut(Output):
    id = Integer()
    name = fields.String()
    issuer_wallet = Integer(attribute="issuer_wallet_id")
    operator = fields.String(attribute="operator_code")
    escrow_account = fields.String(metadata={"description": "The campaign's escrow, ENV:<id>"})
    amount = Amount(metadata={"description": "Per envelope"})
    envelopes = Integer()
    granted = Integer(metadata={"description": "Envelopes granted or claimed so far"})
    claimable = fields.Boolean()
    valid_from = fields.DateTime()
    valid_until = fields.DateTime()
    regions = fields.List(fields.String(), allow_none=True)
    merchant_categories = fields.List(one_of(wl.MERCHANT_CATEGORIES), allow_none=True)
    min_payment = Amount(allow_none=True)
    status = one_of(campaigns.STATUSES)
    escrow = Amount(
        allow_zero=True,
        metadata={"description": "In escrow now: granted-unspent + ungranted (0 once ended)"},
    )
    returned = Amount(
        allow_zero=True, metadata={"description": "Given back to the issuer at the end"}
    )
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class CampaignListArgs(IdPageArgs):
    status = fields.String(validate=validate.OneOf(campaigns.STATUSES))


class GrantBody(StrictSchema):
    wallets = fields.List(
        wallet_id(),
        required=True,
        validate=validate.Length(min=1, max=campaigns.MAX_GRANTS),
        metadata={"description": "One envelope for each (any operator's wallets)"},
    )


class ClaimBody(StrictSchema):
    wallet = wallet_id(required=True, metadata={"description": "The wallet claiming one"})


class EnvelopeOut(Output):
    id = Integer()
    campaign = Integer(attribute="campaign_id")
    wallet = Integer(attribute="wallet_id")
    amount = Amount()
    spent = Amount(allow_zero=True)
    left = Amount(allow_zero=True, metadata={"description": "Spendable now (0 once ended)"})
    source = one_of(campaigns.SOURCES)
    granted_at = fields.DateTime()
    valid_until = fields.DateTime()
    campaign_status = one_of(campaigns.STATUSES)


class GrantsOut(Output):
    items = fields.List(fields.Nested(EnvelopeOut))


class MerchantSpendOut(Output):
    wallet = Integer(attribute="wallet_id")
    payments = Integer()
    amount = Amount()


class CampaignReportOut(Output):
    campaign = fields.Nested(CampaignOut)
    granted_amount = Amount(allow_zero=True)
    claimed = Integer(metadata={"description": "Envelopes claimed (the others: granted by list)"})
    spent = Amount(allow_zero=True)
    granted_unspent = Amount(allow_zero=True)
    ungranted = Amount(allow_zero=True)
    holders_spending = Integer(metadata={"description": "Holders who spent some of theirs"})
    merchants = fields.List(fields.Nested(MerchantSpendOut))
