"""Schemas of /v1/wallets: wallets, balances, limits, statements, payment codes."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.ledger.posting import TRANSFER_KINDS
from wallets.retail import wallet as wl

from .common import (
    INT_CURSOR_PATTERN,
    Amount,
    IdPageArgs,
    Input,
    Instant,
    Integer,
    Output,
    Pattern,
    SignedAmount,
    StrictSchema,
    no_controls,
    one_of,
    wallet_id,
)
from .operators import LimitsOut


class WalletCreate(StrictSchema):
    operator = fields.String(
        validate=validate.Length(max=32),
        metadata={"description": "Operator code; an operator key defaults to its own"},
    )
    wallet_class = Integer(strict=True, required=True, validate=validate.OneOf([1, 2, 3, 4]))
    kind = fields.String(load_default="personal", validate=validate.OneOf(wl.KINDS))
    region = fields.String(
        required=True, validate=Pattern(r"^[A-Z]{2}$"), metadata={"example": "MO"}
    )
    holder_id = fields.String(
        validate=Pattern(r"^[A-Za-z0-9_.:-]{1,64}$"),
        metadata={"description": "Pseudonymous holder id; generated when absent"},
    )
    holder_name = fields.String(
        validate=[validate.Length(min=1, max=200), no_controls],
        metadata={
            "description": "The holder's name, where given (classes 1-3; refused for class 4). "
            "Shown to the wallet's operator only"
        },
    )
    birth_date = fields.Date(
        metadata={
            "description": "Required for personal wallets of classes 1-3; refused for class 4"
        }
    )
    phone = fields.String(
        validate=Pattern(r"^\+[1-9][0-9]{6,14}$"),
        metadata={
            "description": "E.164; required for class 4. Kept by the operator for an approved "
            "identity reveal only: no read returns it"
        },
    )
    parent_id = wallet_id()
    label = fields.String(
        validate=[validate.Length(max=200), no_controls],
        metadata={
            "description": "The operator's note, shown to every reader of the wallet: a "
            "holder's name goes in holder_name"
        },
    )
    merchant_category = fields.String(
        validate=validate.OneOf(wl.MERCHANT_CATEGORIES),
        metadata={"description": "Merchant wallets only: what red-envelope campaigns may require"},
    )


class WalletOut(Output):
    id = Integer()
    operator = fields.String(attribute="operator_code")
    wallet_class = Integer()
    kind = one_of(wl.KINDS)
    status = one_of(wl.STATUSES)
    holder_id = fields.String(
        attribute="shown_holder_id",
        allow_none=True,
        metadata={"description": "To the wallet's operator only (null for every other role)"},
    )
    holder_name = fields.String(
        attribute="shown_holder_name",
        allow_none=True,
        metadata={"description": "To the wallet's operator only, and not for a pseudonymous class"},
    )
    region = fields.String()
    birth_date = fields.Date(
        attribute="shown_birth_date",
        allow_none=True,
        metadata={"description": "To the wallet's operator only, and not for a pseudonymous class"},
    )
    has_phone = fields.Boolean()
    parent_id = Integer(allow_none=True)
    label = fields.String(allow_none=True)
    merchant_category = one_of(
        wl.MERCHANT_CATEGORIES,
        allow_none=True,
        metadata={"description": "A merchant's category (docs/programmable.md); null for persons"},
    )
    balance = Amount(metadata={"description": "What the holder owns: available + held"})
    available = Amount(metadata={"description": "What it can spend now: balance minus open holds"})
    held = Amount(metadata={"description": "Reserved by its open holds"})
    subwallets_balance = Amount(
        allow_none=True,
        metadata={"description": "Parents only: the sum of their sub-wallets' balances"},
    )
    version = Integer(
        metadata={"description": "Changes with every update; the ETag is derived from it"}
    )
    created_at = fields.DateTime()


class WalletListArgs(IdPageArgs):
    operator = fields.String(validate=validate.Length(max=32))


class BalanceOut(Output):
    wallet_id = Integer()
    asset = fields.String()
    balance = Amount(metadata={"description": "What the holder owns: available + held"})
    available = Amount(metadata={"description": "Balance minus open holds: what it can spend"})
    held = Amount(metadata={"description": "Reserved by open holds"})
    as_of = fields.DateTime()


class WalletUpdate(StrictSchema):
    wallet_class = Integer(strict=True, validate=validate.OneOf([1, 2, 3, 4]))
    label = fields.String(validate=[validate.Length(max=200), no_controls])
    birth_date = fields.Date()
    phone = fields.String(validate=Pattern(r"^\+[1-9][0-9]{6,14}$"))
    merchant_category = fields.String(
        validate=validate.OneOf(wl.MERCHANT_CATEGORIES),
        metadata={"description": "Merchant wallets only: what red-envelope campaigns may require"},
    )
    holder_name = fields.String(validate=[validate.Length(min=1, max=200), no_controls])


class WalletLimitsOut(Output):
    wallet_id = Integer()
    wallet_class = Integer()
    limits = fields.Nested(LimitsOut)
    day = fields.Date(metadata={"description": "The sandbox day (UTC+8) the usage is for"})
    used_today = Amount()
    used_this_year = Amount()
    balance = Amount()


class StatementArgs(Input):
    start = Instant(
        data_key="from",
        load_default=None,
        metadata={"description": "Entries posted at or after this instant"},
    )
    end = Instant(
        data_key="to",
        load_default=None,
        metadata={"description": "Entries posted before this instant"},
    )
    limit = Integer(load_default=1000, validate=validate.Range(min=1, max=1000))
    after = fields.String(
        load_default=None, validate=Pattern(INT_CURSOR_PATTERN, error="not a valid cursor")
    )


class PositionOut(Output):
    available = Amount()
    held = Amount()
    balance = Amount()


class StatementEntryOut(Output):
    seq = Integer()
    transfer_id = Integer()
    kind = one_of(TRANSFER_KINDS)
    posted_at = fields.DateTime()
    amount = SignedAmount(metadata={"description": "Credits positive, debits negative"})
    counterparty_account = fields.String()
    reference = fields.String(allow_none=True)
    hold_id = Integer(allow_none=True)
    balance_after = Amount(metadata={"description": "Available balance after this entry"})


class StatementOut(Output):
    wallet_id = Integer()
    start = fields.DateTime(data_key="from", allow_none=True)
    end = fields.DateTime(data_key="to", allow_none=True)
    opening = fields.Nested(PositionOut)
    closing = fields.Nested(PositionOut)
    entries = fields.List(fields.Nested(StatementEntryOut))
    next_after = fields.String(allow_none=True)


class PaymentCodeCreate(StrictSchema):
    max_amount = Amount(
        metadata={
            "description": "The most e-CNY a buy-in or credit repayment with this code may take (default: no cap)"
        }
    )


class PaymentCodeOut(Output):
    id = fields.Integer()
    code = fields.String(
        metadata={
            "description": "The secret: in this response only (and its replay with the same "
            "Idempotency-Key); the code's row keeps only its hash"
        }
    )
    wallet = fields.Integer(attribute="wallet_id")
    max_amount = Amount(allow_none=True)
    issued_at = fields.DateTime()
    expires_at = fields.DateTime(
        metadata={"description": "Sandbox time from which the code is refused (at it, expired)"}
    )
