"""Schemas of /v1/offline: offline purses, their vouchers and their sync (docs/offline.md)."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.core.schema import MAX_ID
from wallets.retail import offline

from .common import (
    Amount,
    IdPageArgs,
    Instant,
    Integer,
    Output,
    Pattern,
    StrictSchema,
    one_of,
    wallet_id,
)

# Standard base64 of 32 bytes (a device key) and of 64 bytes (a signature).
DEVICE_KEY_PATTERN = r"^[A-Za-z0-9+/]{43}=$"
SIGNATURE_PATTERN = r"^[A-Za-z0-9+/]{86}==$"


def purse_id(**kwargs) -> fields.Integer:
    return Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def _signature(**kwargs) -> fields.String:
    return fields.String(
        validate=Pattern(SIGNATURE_PATTERN, error="must be the 64-byte signature in base64"),
        metadata={
            "description": "The device's Ed25519 signature over the canonical encoding, "
            "in standard base64 (docs/offline.md#vouchers)"
        },
        **kwargs,
    )


class PurseCreate(StrictSchema):
    wallet = wallet_id(required=True, metadata={"description": "The wallet that loads the purse"})
    device_key = fields.String(
        required=True,
        validate=Pattern(DEVICE_KEY_PATTERN, error="must be the key's 32 bytes in base64"),
        metadata={"description": "The device's Ed25519 public key: its 32 bytes in base64"},
    )
    amount = Amount(required=True, metadata={"description": "Loaded from the wallet at once"})


class LoadBody(StrictSchema):
    amount = Amount(required=True)


class UnloadBody(StrictSchema):
    counter = Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_ID),
        metadata={"description": "The device's last counter (0: it never paid)"},
    )
    signature = _signature()


class VoucherBody(StrictSchema):
    payer = purse_id(required=True, metadata={"description": "The paying purse"})
    payee = purse_id(required=True, metadata={"description": "The purse paid"})
    amount = Amount(required=True)
    counter = Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))
    time = Instant(
        required=True,
        metadata={
            "description": "When the device signed it; the canonical encoding has it in UTC "
            'to the second ("2026-03-02T02:00:00Z"), fractions of a second dropped'
        },
    )
    signature = _signature(required=True)


class SyncBody(StrictSchema):
    vouchers = fields.List(
        fields.Nested(VoucherBody),
        required=True,
        validate=validate.Length(min=1, max=offline.MAX_SYNC),
    )


class PurseOut(Output):
    id = Integer()
    wallet = Integer()
    device_key = fields.String()
    status = one_of(offline.PURSE_STATUSES)
    frozen = fields.Boolean(metadata={"description": "Frozen after a double spend: no loads"})
    loaded = Amount(allow_zero=True, metadata={"description": "Loaded from the wallet in all"})
    spent = Amount(allow_zero=True, metadata={"description": "Paid by its honoured vouchers"})
    unloaded = Amount(allow_zero=True, metadata={"description": "Returned to the wallet"})
    balance = Amount(allow_zero=True, metadata={"description": "loaded - spent - unloaded"})
    counter = Integer(metadata={"description": "The highest voucher counter synced"})
    created_at = fields.DateTime()
    frozen_at = fields.DateTime(allow_none=True)
    unload_due_at = fields.DateTime(
        allow_none=True, metadata={"description": "An unload waiting for vouchers: when it ends"}
    )
    unloaded_at = fields.DateTime(allow_none=True)


class VoucherOut(Output):
    voucher_id = fields.String(metadata={"description": "SHA-256 of the canonical encoding"})
    payer = Integer(attribute="payer_purse_id")
    payee = Integer(attribute="payee_purse_id")
    amount = Amount()
    counter = Integer()
    time = fields.DateTime()
    status = one_of(offline.VOUCHER_STATUSES)
    refusal = fields.String(
        allow_none=True, metadata={"description": "Why refused: a code of docs/errors.md"}
    )
    covered_by = fields.String(
        allow_none=True,
        metadata={"description": "Refused: the operator (loss bearer) that paid the payee"},
    )
    credit = one_of(
        offline.CREDITS,
        metadata={"description": "The payee's money: pending (not spendable), then validated"},
    )
    uploaded_at = fields.DateTime()
    validate_at = fields.DateTime()
    validated_at = fields.DateTime(allow_none=True)


class SyncItemOut(Output):
    index = Integer()
    result = one_of(offline.SYNC_RESULTS)
    voucher_id = fields.String()
    code = fields.String(
        allow_none=True, metadata={"description": "Why rejected (nothing kept): docs/errors.md"}
    )
    detail = fields.String(allow_none=True)
    voucher = fields.Nested(VoucherOut, allow_none=True)


class SyncOut(Output):
    synced = Integer()
    duplicates = Integer()
    rejected = Integer()
    results = fields.List(fields.Nested(SyncItemOut))
    changed = fields.List(
        fields.Nested(VoucherOut),
        metadata={"description": "Vouchers synced before whose status this sync changed"},
    )


class PurseListArgs(IdPageArgs):
    wallet = Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))


class VoucherListArgs(IdPageArgs):
    pass
