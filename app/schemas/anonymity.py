"""Schemas of managed anonymity: identity reveals and wallet aggregates."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.core.principal import ROLES
from wallets.core.schema import MAX_ID
from wallets.retail import anonymity

from .common import (
    Amount,
    Id32PageArgs,
    Integer,
    Output,
    Pattern,
    StrictSchema,
    no_controls,
    one_of,
)


class IdentityRevealCreate(StrictSchema):
    legal_basis = fields.String(
        required=True,
        validate=Pattern(r"^[a-z][a-z0-9_]{0,39}$"),
        metadata={
            "description": "One of the rule profile's `anonymity.legal_bases` (GET /v1/rules)",
            "example": "criminal_investigation",
        },
    )
    case_reference = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=64), no_controls],
        metadata={"description": "The case the identity is needed for"},
    )


class IdentityRevealReject(StrictSchema):
    reason = fields.String(validate=[validate.Length(min=1, max=500), no_controls])


class RevealedIdentityOut(Output):
    wallet_class = Integer()
    holder_id = fields.String()
    holder_name = fields.String(allow_none=True)
    phone = fields.String(
        allow_none=True,
        metadata={"description": "E.164; null where the operator keeps none"},
    )
    birth_date = fields.Date(allow_none=True)
    region = fields.String()


class IdentityRevealOut(Output):
    id = Integer()
    wallet = Integer()
    operator = fields.String(metadata={"description": "The operator that keeps the identity"})
    legal_basis = fields.String()
    case_reference = fields.String()
    status = one_of(
        anonymity.STATUSES,
        metadata={"description": "On the sandbox clock: `expired` once past expires_at unapproved"},
    )
    requested_by_role = one_of(ROLES)
    requested_by_key = Integer(allow_none=True)
    requested_at = fields.DateTime()
    expires_at = fields.DateTime(
        metadata={"description": "The reveal expires unless approved before this instant"}
    )
    decided_by_role = one_of(ROLES, allow_none=True)
    decided_by_key = Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "A rejection's reason"})
    read_at = fields.DateTime(allow_none=True)
    identity = fields.Nested(
        RevealedIdentityOut,
        allow_none=True,
        metadata={"description": "In the answer of the requester's one read only"},
    )


class IdentityRevealListArgs(Id32PageArgs):
    wallet = Integer(validate=validate.Range(min=1, max=MAX_ID))


class WalletAggregateOut(Output):
    operator = fields.String(attribute="operator_code")
    wallet_class = Integer()
    wallets = Integer(metadata={"description": "Wallets opened (closed ones included)"})
    balance = Amount(metadata={"description": "What their holders own: available + held"})
    available = Amount()
    held = Amount()


class WalletAggregatesOut(Output):
    items = fields.List(fields.Nested(WalletAggregateOut))
