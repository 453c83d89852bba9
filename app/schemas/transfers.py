"""Schemas of /v1/transfers: payments, refunds and batches."""

from __future__ import annotations

import re

from marshmallow import fields, validate

from wallets.core.schema import MAX_ID
from wallets.ledger.money import AmountError, parse_amount
from wallets.ledger.posting import POSTED, TRANSFER_KINDS
from wallets.retail.payments import BATCH_RESULTS

from .common import (
    CLIENT_ID_PATTERN,
    MIN_ID,
    NO_CONTROLS_PATTERN,
    REFERENCE_MAX_LENGTH,
    Amount,
    IdPageArgs,
    Integer,
    Output,
    Pattern,
    StrictSchema,
    one_of,
    reference_field,
    wallet_id,
)


class TransferCreate(StrictSchema):
    from_wallet = wallet_id(required=True)
    to_wallet = wallet_id(required=True)
    amount = Amount(required=True)
    reference = reference_field()


class EntryOut(Output):
    seq = Integer()
    debit_account = fields.String()
    credit_account = fields.String()
    asset = fields.String()
    amount = Amount()
    hash = fields.String()


class TransferOut(Output):
    id = Integer()
    kind = one_of(
        TRANSFER_KINDS, metadata={"description": "What the transfer did (docs/ledger.md)"}
    )
    status = one_of([POSTED], metadata={"description": "Every transfer is posted (immutable)"})
    asset = fields.String()
    amount = Amount()
    from_wallet = Integer(allow_none=True)
    to_wallet = Integer(allow_none=True)
    from_operator = fields.String(allow_none=True)
    to_operator = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    posted_at = fields.DateTime()
    hold_id = Integer(allow_none=True)
    refund_of = Integer(allow_none=True)
    entries = fields.List(fields.Nested(EntryOut))


class BatchItem(StrictSchema):
    id = fields.String(
        required=True,
        validate=Pattern(CLIENT_ID_PATTERN),
        metadata={
            "description": "Your id for this transfer: its idempotency key (unique per API key)"
        },
    )
    from_wallet = wallet_id(required=True)
    to_wallet = wallet_id(required=True)
    amount = Amount(required=True)
    reference = reference_field()
    linked = fields.Boolean(
        load_default=False,
        metadata={"description": "true: this transfer and the next stand or fall together"},
    )


class BatchBody(StrictSchema):
    transfers = fields.List(
        fields.Nested(BatchItem), required=True, validate=validate.Length(min=1)
    )

    def load(self, data, *, many=None, partial=None, unknown=None):
        """A batch of thousands of items spends most of its parsing in
        marshmallow's per-field machinery: items of the plain, valid shape are
        converted here, field by field as BatchItem would; anything else (and
        every error) goes through marshmallow, which says what is wrong.
        Measured on 1,000 items: about a fifth of marshmallow's time, and
        marshmallow's is most of a batch request's."""
        if many is None and partial is None and unknown is None:
            fast = _fast_batch(data)
            if fast is not None:
                return fast
        return super().load(data, many=many, partial=partial, unknown=unknown)


_BATCH_ID = re.compile(CLIENT_ID_PATTERN)


_NO_CONTROLS = re.compile(NO_CONTROLS_PATTERN)


_BATCH_FIELDS = frozenset(BatchItem._declared_fields)


_BATCH_REQUIRED = frozenset(("id", "from_wallet", "to_wallet", "amount"))


def _fast_batch(data) -> dict | None:
    """BatchBody's load of ``data`` when every item is plainly valid, else None."""
    if type(data) is not dict or data.keys() != {"transfers"}:
        return None
    items = data["transfers"]
    if type(items) is not list or not items:
        return None
    out = []
    for item in items:
        if type(item) is not dict or not _BATCH_REQUIRED <= item.keys() <= _BATCH_FIELDS:
            return None
        client_id, payer, payee = item["id"], item["from_wallet"], item["to_wallet"]
        if type(client_id) is not str or _BATCH_ID.fullmatch(client_id) is None:
            return None
        if type(payer) is not int or type(payee) is not int:
            return None
        if not (MIN_ID <= payer <= MAX_ID and MIN_ID <= payee <= MAX_ID):
            return None
        try:
            amount = parse_amount(item["amount"])
        except AmountError:
            return None
        loaded = {"id": client_id, "from_wallet": payer, "to_wallet": payee, "amount": amount}
        if "reference" in item:
            reference = item["reference"]
            if reference is not None and (
                type(reference) is not str
                or len(reference) > REFERENCE_MAX_LENGTH
                or _NO_CONTROLS.fullmatch(reference) is None
            ):
                return None
            loaded["reference"] = reference
        linked = item.get("linked", False)
        if type(linked) is not bool:
            return None
        loaded["linked"] = linked
        out.append(loaded)
    return {"transfers": out}


class BatchResultOut(Output):
    index = Integer()
    id = fields.String()
    status = one_of(
        BATCH_RESULTS,
        metadata={"description": "posted, exists (posted before with this id) or refused"},
    )
    transfer_id = Integer(allow_none=True)
    code = fields.String(
        allow_none=True,
        metadata={"description": "Why it was refused: a code of docs/errors.md, as a problem's"},
    )
    detail = fields.String(allow_none=True)


class BatchOut(Output):
    posted = Integer()
    exists = Integer()
    refused = Integer()
    results = fields.List(fields.Nested(BatchResultOut))


class RefundBody(StrictSchema):
    amount = Amount(required=True)
    reference = reference_field()


class TransferListArgs(IdPageArgs):
    wallet = Integer(strict=False, validate=validate.Range(min=1, max=MAX_ID))
