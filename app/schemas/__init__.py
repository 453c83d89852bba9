"""Marshmallow schemas: one per payload. Amounts cross the edge here, as strings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate

from wallets.core.clock import CLOCK_MAX, CLOCK_MIN, INSTANT_MAX, INSTANT_MIN
from wallets.core.errors import CODES
from wallets.core.principal import ROLES
from wallets.core.schema import MAX_ID, MAX_ID32
from wallets.ledger.money import (
    MAX_AMOUNT_FEN,
    AmountError,
    DecimalSetting,
    format_amount,
    parse_amount,
)
from wallets.tier1.settlement import NDC_ALERT_PERCENT, NDC_RESERVE_RATIO

# The documented patterns say exactly what the parser accepts (money.parse_amount):
# up to 1000000000000.00, at most 2 decimals; positive unless zero is allowed.
AMOUNT_PATTERN = (
    r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,11}(\.[0-9]{1,2})?|1000000000000(\.00?)?)$"
)
AMOUNT_OR_ZERO_PATTERN = (
    r"^(0(\.[0-9]{1,2})?|[1-9][0-9]{0,11}(\.[0-9]{1,2})?|1000000000000(\.00?)?)$"
)
# Free text (names, labels, notes, references): no control characters.
NO_CONTROLS_PATTERN = r"^[^\x00-\x1f\x7f]*$"
REFERENCE_MAX_LENGTH = 140
# A client's id of a batch item: printable ASCII without spaces.
CLIENT_ID_PATTERN = r"^[\x21-\x7e]{1,64}$"
# Wallet ids: 1 to the largest id of a 64-bit column JSON carries exactly.
MIN_ID = 1
# A gaming day, 1970-01-01 to 9999-12-30: the years by pattern, the last day by lookahead.
GAMING_DAY_PATTERN = r"^(?!9999-12-31)(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$"
# Payment codes are "pc_" and 32 characters; anything longer is no code.
PAYMENT_CODE_MAX_LENGTH = 64
# Cursors of lists ordered by id.
INT_CURSOR_PATTERN = r"^[0-9]{1,18}$"


def uint_pattern(maximum: int) -> str:
    """A pattern of the decimal integers 0 to ``maximum`` (ASCII digits, no
    leading zero): what a cursor of a list of a 32-bit column may be."""
    digits = str(maximum)
    shorter = f"[1-9][0-9]{{0,{len(digits) - 2}}}" if len(digits) > 1 else None
    alternatives = ["0"] + ([shorter] if shorter else [])
    for i, d in enumerate(digits):
        rest = len(digits) - i - 1
        low = "1" if i == 0 else "0"
        if int(d) > int(low):
            top = str(int(d) - 1)
            alternatives.append(
                digits[:i]
                + (f"[{low}-{top}]" if top != low else low)
                + (f"[0-9]{{{rest}}}" if rest else "")
            )
    alternatives.append(digits)
    return "^(" + "|".join(alternatives) + ")$"


class Pattern(validate.Regexp):
    """A regular expression the whole value must match: ``$`` alone would let a
    trailing newline through."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Integer(fields.Integer):
    """An integer; given as text (a query parameter), ASCII digits only:
    ``int()`` also reads other scripts' digits, spaces and underscores."""

    def _validated(self, value):
        if isinstance(value, str) and _ASCII_INT.fullmatch(value) is None:
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


_ASCII_INT = re.compile(r"-?[0-9]{1,20}")


class Instant(fields.AwareDateTime):
    """An instant with its UTC offset, between ``minimum`` and ``maximum`` once
    in UTC: 9999-12-31T23:59:59-14:00 is past the last instant Python (and so the
    sandbox) holds; it is refused, not clamped."""

    def __init__(self, *, minimum: datetime = INSTANT_MIN, maximum: datetime = INSTANT_MAX, **kw):
        self.minimum, self.maximum = minimum, maximum
        metadata = kw.pop("metadata", {})
        description = metadata.get("description", "An instant")
        metadata["description"] = (
            f"{description}. ISO 8601 with a UTC offset; "
            f"{minimum:%Y-%m-%dT%H:%M:%SZ} or later and before {maximum:%Y-%m-%dT%H:%M:%SZ}"
        )
        super().__init__(metadata=metadata, **kw)

    def _deserialize(self, value, attr, data, **kwargs):
        when = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = when.astimezone(UTC)
        except OverflowError:
            utc = None
        if utc is None or not self.minimum <= utc < self.maximum:
            raise ValidationError(
                f"must be {self.minimum:%Y-%m-%dT%H:%M:%SZ} or later and before "
                f"{self.maximum:%Y-%m-%dT%H:%M:%SZ} (UTC)"
            )
        return when  # as given: responses echo the offset the caller chose


class Amount(fields.Field):
    """A positive amount of money: a decimal string with at most 2 decimals, in
    and out; fen inside."""

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        metadata = kwargs.pop("metadata", {})
        metadata.setdefault("example", "100.00")
        metadata.setdefault(
            "description",
            f"CNY as a decimal string, at most 2 decimals, up to {format_amount(MAX_AMOUNT_FEN)}",
        )
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_amount(value, allow_zero=self.allow_zero)
        except AmountError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_amount(value)


class Setting(fields.String):
    """A decimal setting (a ratio, a percentage), checked by its one definition
    in the domain: the CLI checks the same."""

    def __init__(self, setting: DecimalSetting, **kwargs):
        self.setting = setting
        metadata = kwargs.pop("metadata", {})
        metadata.setdefault("description", setting.description)
        metadata.setdefault("pattern", f"^{setting.pattern}$")
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            self.setting.parse(text)
        except AmountError as exc:
            raise ValidationError(str(exc)) from exc
        return text


class SignedAmount(Amount):
    """An amount that may be zero or negative (balances of contra accounts); output only."""


def amount_properties(converter, field, **kwargs) -> dict:
    """The OpenAPI pattern of an amount: in a request (a StrictSchema) what the
    parser accepts; in a response, how amounts are printed (sums may be zero,
    negative for contra accounts, or past the largest single amount)."""
    if not isinstance(field, Amount):
        return {}
    if isinstance(field, SignedAmount):
        return {"pattern": r"^-?(0|[1-9][0-9]*)\.[0-9]{2}$"}
    if isinstance(field.parent, StrictSchema):
        return {"pattern": AMOUNT_OR_ZERO_PATTERN if field.allow_zero else AMOUNT_PATTERN}
    return {"pattern": r"^(0|[1-9][0-9]*)\.[0-9]{2}$"}


class Input(Schema):
    """What a request gives (a body, query parameters): no text field takes a
    control character (a NUL, which PostgreSQL cannot store, above all). Fields
    with a pattern or a fixed set of values say so themselves."""

    def on_bind_field(self, field_name, field_obj):
        for text in (field_obj, getattr(field_obj, "inner", None)):
            if (
                isinstance(text, fields.String)
                and "pattern" not in text.metadata
                and not any(
                    isinstance(v, validate.Regexp | validate.OneOf) for v in text.validators
                )
            ):
                text.validators.append(_no_controls)


class StrictSchema(Input):
    """Unknown fields are an error (marshmallow's default, stated on purpose)."""

    class Meta:
        ordered = True


def reference_field() -> fields.String:
    return fields.String(
        validate=[validate.Length(max=REFERENCE_MAX_LENGTH), _no_controls],
        allow_none=True,
        metadata={"description": "Free text for the payer's records, no control characters"},
    )


def wallet_id(**kwargs) -> fields.Integer:
    return Integer(strict=True, validate=validate.Range(min=MIN_ID, max=MAX_ID), **kwargs)


def id_field(maximum: int = MAX_ID, **kwargs) -> fields.Integer:
    """An id: of a 64-bit column (``MAX_ID``) or a 32-bit one (``MAX_ID32``)."""
    return Integer(validate=validate.Range(min=1, max=maximum), **kwargs)


_no_controls = Pattern(NO_CONTROLS_PATTERN, error="must not contain control characters")


# ---- common ----------------------------------------------------------------


class ProblemSchema(Schema):
    """What app/errors.py sends: an RFC 9457 problem with a stable ``code``.
    Some problems add facts of their own (``available`` and ``required`` of
    insufficient_funds, the current ``etag`` of etag_mismatch, ...: docs/errors.md)."""

    type = fields.String(
        required=True,
        validate=Pattern(r"^urn:ecny:problem:[a-z_]+$"),
        metadata={"example": "urn:ecny:problem:insufficient_funds"},
    )
    title = fields.String(required=True, metadata={"description": "The code's fixed title"})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status"})
    code = fields.String(
        required=True,
        validate=validate.OneOf([*sorted(CODES), "internal_error"]),
        metadata={"description": "Stable machine code, listed in docs/errors.md"},
    )
    detail = fields.String(required=True, metadata={"description": "This occurrence, for humans"})
    instance = fields.String(required=True, metadata={"description": "The request's path"})
    request_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The X-Request-Id of the request, as the server log has it"},
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "For validation_failed (and bad headers): messages by field name"},
    )

    class Meta:
        unknown = "include"


class PageArgs(Input):
    limit = Integer(load_default=50, validate=validate.Range(min=1, max=500))
    after = fields.String(
        load_default=None,
        validate=validate.Length(max=64),
        metadata={"description": "Cursor: next_after of the previous page"},
    )


class IdPageArgs(PageArgs):
    """A list ordered by id: its cursor is the last id seen."""

    after = fields.String(
        load_default=None,
        validate=Pattern(INT_CURSOR_PATTERN, error="not a valid cursor"),
        metadata={"description": "Cursor: next_after of the previous page"},
    )


class Id32PageArgs(PageArgs):
    """A list ordered by the id of a 32-bit column."""

    after = fields.String(
        load_default=None,
        validate=Pattern(uint_pattern(MAX_ID32), error="not a valid cursor"),
        metadata={"description": "Cursor: next_after of the previous page"},
    )


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_after": fields.String(
                allow_none=True,
                metadata={
                    "description": "Pass as `after` for the next page; null on the last page"
                },
            ),
        },
        name=name,
    )


class AmountBody(StrictSchema):
    amount = Amount(required=True)
    reference = reference_field()


# ---- operators -------------------------------------------------------------


class OperatorCreate(StrictSchema):
    code = fields.String(
        required=True,
        validate=Pattern(r"^[A-Z][A-Z0-9_]{1,31}$"),
        metadata={"example": "ICBC"},
    )
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), _no_controls])


class OperatorOut(Schema):
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
        metadata={"description": "Its wallets' open holds, in its escrow account (tier 2)"}
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
        metadata={"description": "position + open_window_net == vault + wallets_total + holds"}
    )


# ---- wallets ---------------------------------------------------------------


class WalletCreate(StrictSchema):
    operator = fields.String(
        validate=validate.Length(max=32),
        metadata={"description": "Operator code; an operator key defaults to its own"},
    )
    wallet_class = Integer(strict=True, required=True, validate=validate.OneOf([1, 2, 3, 4]))
    kind = fields.String(load_default="personal", validate=validate.OneOf(["personal", "merchant"]))
    region = fields.String(
        required=True, validate=Pattern(r"^[A-Z]{2}$"), metadata={"example": "MO"}
    )
    holder_id = fields.String(
        validate=Pattern(r"^[A-Za-z0-9_.:-]{1,64}$"),
        metadata={"description": "Pseudonymous holder id; generated when absent"},
    )
    birth_date = fields.Date(
        metadata={
            "description": "Required for personal wallets of classes 1-3; refused for class 4"
        }
    )
    phone = fields.String(
        validate=Pattern(r"^\+[1-9][0-9]{6,14}$"),
        metadata={"description": "E.164; required for class 4. Only its keyed hash is stored"},
    )
    parent_id = wallet_id()
    label = fields.String(validate=[validate.Length(max=200), _no_controls])


class WalletOut(Schema):
    id = Integer()
    operator = fields.String(attribute="operator_code")
    wallet_class = Integer()
    kind = fields.String()
    status = fields.String()
    holder_id = fields.String()
    region = fields.String()
    birth_date = fields.Date(allow_none=True)
    has_phone = fields.Boolean()
    parent_id = Integer(allow_none=True)
    label = fields.String(allow_none=True)
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


class BalanceOut(Schema):
    wallet_id = Integer()
    asset = fields.String()
    balance = Amount(metadata={"description": "What the holder owns: available + held"})
    available = Amount(metadata={"description": "Balance minus open holds: what it can spend"})
    held = Amount(metadata={"description": "Reserved by open holds"})
    as_of = fields.DateTime()


class WalletUpdate(StrictSchema):
    wallet_class = Integer(strict=True, validate=validate.OneOf([1, 2, 3, 4]))
    label = fields.String(validate=[validate.Length(max=200), _no_controls])
    birth_date = fields.Date()
    phone = fields.String(validate=Pattern(r"^\+[1-9][0-9]{6,14}$"))


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


class LimitsOut(Schema):
    balance_cap = Amount(allow_none=True)
    single_payment = Amount(allow_none=True)
    daily_out = Amount(allow_none=True)
    annual_out = Amount(allow_none=True)


class ClassLimitsOut(Schema):
    wallet_class = Integer()
    profile = fields.Nested(LimitsOut, metadata={"description": "The rule profile's limits"})
    effective = fields.Nested(
        LimitsOut, metadata={"description": "After the operator's own, lower limits"}
    )


class OperatorLimitsOut(Schema):
    operator = fields.String()
    profile = fields.String()
    classes = fields.List(fields.Nested(ClassLimitsOut))


class WalletLimitsOut(Schema):
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


class PositionOut(Schema):
    available = Amount()
    held = Amount()
    balance = Amount()


class StatementEntryOut(Schema):
    seq = Integer()
    transfer_id = Integer()
    kind = fields.String()
    posted_at = fields.DateTime()
    amount = SignedAmount(metadata={"description": "Credits positive, debits negative"})
    counterparty_account = fields.String()
    reference = fields.String(allow_none=True)
    hold_id = Integer(allow_none=True)
    balance_after = Amount(metadata={"description": "Available balance after this entry"})


class StatementOut(Schema):
    wallet_id = Integer()
    start = fields.DateTime(data_key="from", allow_none=True)
    end = fields.DateTime(data_key="to", allow_none=True)
    opening = fields.Nested(PositionOut)
    closing = fields.Nested(PositionOut)
    entries = fields.List(fields.Nested(StatementEntryOut))
    next_after = fields.String(allow_none=True)


# ---- transfers -------------------------------------------------------------


class TransferCreate(StrictSchema):
    from_wallet = wallet_id(required=True)
    to_wallet = wallet_id(required=True)
    amount = Amount(required=True)
    reference = reference_field()


class EntryOut(Schema):
    seq = Integer()
    debit_account = fields.String()
    credit_account = fields.String()
    asset = fields.String()
    amount = Amount()
    hash = fields.String()


class TransferOut(Schema):
    id = Integer()
    kind = fields.String(
        metadata={
            "description": "reserve_deposit, issuance, redemption, funding, defunding, payment, "
            "hold, capture, hold_release, void, hold_expiry, refund, sweep, chip_issue, wager, "
            "payout or chip_return (docs/ledger.md)"
        }
    )
    status = fields.String(metadata={"description": "posted"})
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


class BatchResultOut(Schema):
    index = Integer()
    id = fields.String()
    status = fields.String(
        metadata={"description": "posted, exists (posted before with this id) or refused"}
    )
    transfer_id = Integer(allow_none=True)
    code = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)


class BatchOut(Schema):
    posted = Integer()
    exists = Integer()
    refused = Integer()
    results = fields.List(fields.Nested(BatchResultOut))


class RefundBody(StrictSchema):
    amount = Amount(required=True)
    reference = reference_field()


class HoldCreate(StrictSchema):
    from_wallet = wallet_id(required=True)
    to_wallet = wallet_id(required=True)
    amount = Amount(required=True)
    timeout_seconds = Integer(
        strict=True,
        load_default=3600,
        validate=validate.Range(min=1, max=30 * 86400),
        metadata={"description": "Seconds of sandbox time until the hold expires (default 3600)"},
    )
    reference = reference_field()


class CaptureBody(StrictSchema):
    amount = Amount(metadata={"description": "Default: the whole hold; the rest is released"})


class HoldOut(Schema):
    id = Integer()
    from_wallet = Integer(attribute="from_wallet_id")
    to_wallet = Integer(attribute="to_wallet_id")
    amount = Amount()
    captured = Amount()
    status = fields.String(metadata={"description": "pending, captured, voided or expired"})
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    transfers = fields.List(fields.Nested(TransferOut))


class HoldListArgs(IdPageArgs):
    wallet = Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(validate=validate.OneOf(["pending", "captured", "voided", "expired"]))


class TransferListArgs(IdPageArgs):
    wallet = Integer(strict=False, validate=validate.Range(min=1, max=MAX_ID))


# ---- sandbox, keys, audit --------------------------------------------------


class ClockOut(Schema):
    now = fields.DateTime(metadata={"description": "Sandbox time (UTC)"})
    local_now = fields.DateTime(
        metadata={"description": "Sandbox time in UTC+8 (Asia/Shanghai, Asia/Macau)"}
    )
    fixed = fields.Boolean(
        metadata={"description": "true: time stands still until set or advanced"}
    )


class ClockSet(StrictSchema):
    now = Instant(
        required=True,
        minimum=CLOCK_MIN,
        maximum=CLOCK_MAX,
        metadata={"example": "2026-01-01T09:00:00+08:00", "description": "The new sandbox time"},
    )
    fixed = fields.Boolean(load_default=True)


class ClockAdvance(StrictSchema):
    seconds = Integer(
        strict=True, required=True, validate=validate.Range(min=0, max=10 * 366 * 86400)
    )


class KeyCreate(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    operator = fields.String(validate=validate.Length(max=32))
    casino = fields.String(
        validate=validate.Length(max=64),
        metadata={
            "description": "merchant: its casino's ref; supervisor: its casinos' refs, comma-separated",
            "example": "COTAI",
        },
    )
    label = fields.String(validate=[validate.Length(max=200), _no_controls])


class KeyOut(Schema):
    id = Integer()
    key = fields.String(metadata={"description": "The secret. Shown once; only its hash is stored"})
    role = fields.String()
    operator = fields.String(attribute="operator_code", allow_none=True)
    casino = fields.String(attribute="casino_ref", allow_none=True)
    label = fields.String(allow_none=True)


class KeyRevokedOut(Schema):
    id = Integer()
    role = fields.String()
    operator = fields.String(attribute="operator_code", allow_none=True)
    casino = fields.String(attribute="casino_ref", allow_none=True)
    label = fields.String(allow_none=True)
    revoked_at = fields.AwareDateTime()


class KeyListOut(Schema):
    id = Integer()
    role = fields.String()
    operator = fields.String(attribute="operator_code", allow_none=True)
    casino = fields.String(attribute="casino_ref", allow_none=True)
    label = fields.String(allow_none=True)
    created_at = fields.DateTime(metadata={"description": "Sandbox time"})
    revoked_at = fields.DateTime(allow_none=True)


class KeyListArgs(Id32PageArgs):
    pass


class CheckOut(Schema):
    id = Integer()
    name = fields.String()
    ok = fields.Boolean()
    figures = fields.Dict()
    problems = fields.List(fields.String())


class ReconciliationOut(Schema):
    ok = fields.Boolean()
    checked_at = fields.String()
    checks = fields.List(fields.Nested(CheckOut))


class HealthOut(Schema):
    status = fields.String()
    database = fields.String()
    migration = fields.String(allow_none=True)


# ---- audit: digest, exports, audit log (issue 7) ----------------------------


class DigestOut(Schema):
    sequence = Integer(metadata={"description": "seq of the last journal entry"})
    head_hash = fields.String(metadata={"description": "hash of that entry (64 zeros if none)"})
    time = fields.String(metadata={"description": "Sandbox time of the digest, ISO 8601"})
    signature = fields.String(
        metadata={
            "description": "base64 Ed25519 signature of the canonical JSON "
            '{"head_hash":...,"sequence":...,"time":...} (sorted keys, no spaces)'
        }
    )
    public_key = fields.String(metadata={"description": "The central bank's public key (PEM)"})
    public_key_sha256 = fields.String(
        metadata={"description": "SHA-256 of the raw 32-byte public key, to compare out of band"}
    )
    algorithm = fields.String(metadata={"example": "Ed25519"})


class ExportCreate(StrictSchema):
    from_ = Instant(
        data_key="from",
        load_default=None,
        metadata={
            "description": "Entries posted at or after this time",
            "example": "2026-01-01T00:00:00+08:00",
        },
    )
    to = Instant(load_default=None, metadata={"description": "Entries posted before this time"})
    operator = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "Only transfers from or to this operator"},
    )
    wallet = wallet_id(
        load_default=None, metadata={"description": "Only transfers from or to this wallet"}
    )
    formats = fields.List(
        fields.String(validate=validate.OneOf(["csv", "jsonl", "camt053"])),
        load_default=None,
        validate=validate.Length(min=1),
        metadata={"description": "Default: all of csv, jsonl, camt053"},
    )


class ExportFileOut(Schema):
    name = fields.String(metadata={"example": "journal.csv"})
    rows = Integer(allow_none=True)
    bytes = Integer()
    sha256 = fields.String()


class ExportJobOut(Schema):
    id = Integer()
    status = fields.String(metadata={"description": "queued, running, succeeded or failed"})
    filters = fields.Dict()
    created_at = fields.DateTime(metadata={"description": "Sandbox time"})
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    head_seq = Integer(allow_none=True)
    head_hash = fields.String(allow_none=True)
    files = fields.List(fields.Nested(ExportFileOut))
    error = fields.String(allow_none=True)
    error_code = fields.String(
        allow_none=True,
        metadata={"description": "Why a failed job failed, e.g. ledger_chain_broken"},
    )


class CheckpointOut(Schema):
    id = fields.Integer()
    sequence = fields.Integer(metadata={"description": "seq of the journal head it signs"})
    head_hash = fields.String(metadata={"description": "hash of that entry (64 zeros if none)"})
    time = fields.String(metadata={"description": "Sandbox time, ISO 8601, as signed"})
    signature = fields.String(
        metadata={
            "description": "base64 Ed25519 signature of the canonical JSON "
            '{"head_hash":...,"sequence":...,"time":...}, as a digest\'s'
        }
    )
    public_key_sha256 = fields.String(
        metadata={"description": "SHA-256 of the raw 32-byte public key that signed it"}
    )
    algorithm = fields.String(metadata={"example": "Ed25519"})
    reason = fields.String(metadata={"description": "schedule or export"})
    export_id = fields.String(
        allow_none=True, metadata={"description": "The export it was taken for"}
    )


class AuditEventArgs(IdPageArgs):
    method = fields.String(
        validate=validate.OneOf(["POST", "PUT", "PATCH", "DELETE", "CLI"]),
        metadata={"description": "CLI: a write of the `ecny` command line"},
    )
    path_prefix = fields.String(validate=validate.Length(min=1, max=255))
    key_id = id_field(MAX_ID32)
    start = Instant(
        data_key="from",
        load_default=None,
        metadata={"description": "Events at or after this sandbox time (inclusive)"},
    )
    end = Instant(
        data_key="to",
        load_default=None,
        metadata={"description": "Events before this sandbox time (exclusive)"},
    )
    outcome = fields.String(validate=validate.OneOf(["succeeded", "refused", "failed"]))
    status = Integer(validate=validate.Range(min=100, max=599))


class AuditEventOut(Schema):
    id = Integer()
    at = fields.DateTime(metadata={"description": "Sandbox time"})
    wall_at = fields.DateTime(metadata={"description": "Real time"})
    api_key_id = Integer(allow_none=True)
    role = fields.String(allow_none=True)
    operator = fields.String(attribute="operator_code", allow_none=True)
    casino = fields.String(attribute="casino_ref", allow_none=True)
    method = fields.String()
    path = fields.String()
    idempotency_key = fields.String(allow_none=True)
    replayed = fields.Boolean()
    status = Integer()
    outcome = fields.String()
    error_code = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    resource = fields.String(allow_none=True, metadata={"description": "id or code written"})
    summary = fields.String(
        allow_none=True, metadata={"description": "Plain request fields, without personal data"}
    )


# ---- settlement --------------------------------------------------------------


class SettlementSettingsOut(Schema):
    model = fields.String(metadata={"description": "gross or deferred_net"})
    ndc_reserve_ratio = fields.String(metadata={"description": "Default NDC = free reserve x this"})
    ndc_alert_percent = fields.String(
        metadata={"description": "Alert when a net debit passes this % of its NDC"}
    )
    cutoff = fields.String(
        allow_none=True, metadata={"description": "Daily window close, local time HH:MM (UTC+8)"}
    )


class SettlementSettingsBody(StrictSchema):
    model = fields.String(validate=validate.OneOf(["gross", "deferred_net"]))
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


class WindowPositionOut(Schema):
    operator = fields.String()
    sent = Amount()
    received = Amount()
    net = SignedAmount()
    net_debit_cap = Amount(allow_none=True)
    utilisation_percent = fields.String(allow_none=True)
    peak_debit = Amount()


class WindowOut(Schema):
    id = Integer()
    status = fields.String(metadata={"description": "OPEN, CLOSED or SETTLED"})
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(allow_none=True)
    settlement_transfer_id = Integer(allow_none=True)
    positions = fields.List(fields.Nested(WindowPositionOut))


class ReportOperatorOut(Schema):
    operator = fields.String()
    sent = fields.String()
    received = fields.String()
    net = fields.String()
    net_debit_cap = fields.String(allow_none=True)
    peak_debit = fields.String()
    peak_utilisation_percent = fields.String(allow_none=True)


class Tier1MoveOut(Schema):
    debit_account = fields.String()
    credit_account = fields.String()
    amount = fields.String()


class SettlementReportOut(Schema):
    window_id = Integer()
    settlement_transfer_id = Integer(allow_none=True)
    operators = fields.List(fields.Nested(ReportOperatorOut))
    tier1_moves = fields.List(fields.Nested(Tier1MoveOut))


class ReportArgs(Input):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


# ---- rule profiles, casinos, alerts, exclusions (issue 5) -----------------------


class ProfileSelect(StrictSchema):
    name = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "A shipped profile: default or macau", "example": "macau"},
    )
    document = fields.Dict(
        metadata={
            "description": "A profile of your own, in the format of the shipped ones "
            "(GET /v1/rules shows the active one's `document`); give a name of its own"
        }
    )


class RulesOut(Schema):
    name = fields.String()
    version = Integer(metadata={"description": "Version of the profile format"})
    description = fields.String()
    source = fields.String(
        metadata={"description": "shipped (a file of the product) or document (given by the admin)"}
    )
    document = fields.Dict(metadata={"description": "The profile as written: every setting"})
    derived = fields.Dict(
        metadata={"description": "Figures computed from it, e.g. the LTR threshold in CNY"}
    )


def _ref_field(description: str = "Casino reference", **kwargs) -> fields.String:
    return fields.String(
        validate=Pattern(r"^[A-Z][A-Z0-9_]{1,15}$"),
        metadata={"example": "COTAI", "description": description},
        **kwargs,
    )


class CasinoCreate(StrictSchema):
    ref = _ref_field(required=True)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), _no_controls])
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


class SupervisorOut(Schema):
    key_id = Integer()
    label = fields.String(allow_none=True)


class CasinoOut(Schema):
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


class PaymentCodeCreate(StrictSchema):
    max_amount = Amount(
        metadata={"description": "The most a buy-in with this code may take (default: no cap)"}
    )


class PaymentCodeOut(Schema):
    id = fields.Integer()
    code = fields.String(
        metadata={"description": "The secret: in this response only; only its hash is stored"}
    )
    wallet = fields.Integer(attribute="wallet_id")
    max_amount = Amount(allow_none=True)
    issued_at = fields.DateTime()
    expires_at = fields.DateTime(
        metadata={"description": "Sandbox time after which the code is refused"}
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


class AlertBriefOut(Schema):
    id = Integer()
    type = fields.String()
    summary = fields.String()


class CageOperationOut(Schema):
    id = Integer(metadata={"description": "The cage operation's id"})
    casino = fields.String(attribute="casino_ref")
    kind = fields.String(metadata={"description": "buy_in, play or cash_out"})
    player = Integer(attribute="wallet_id")
    gaming_day = fields.Date()
    at = fields.DateTime()
    amount = Amount(metadata={"description": "Bought in, cashed out, or wagered"})
    payout = Amount(allow_zero=True)
    transfers = fields.List(fields.Nested(TransferOut))
    alerts = fields.List(fields.Nested(AlertBriefOut), metadata={"description": "Raised by it"})


class OperationOut(Schema):
    id = Integer()
    casino = fields.String(attribute="casino_ref")
    kind = fields.String()
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


class PlayerDayOut(Schema):
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


class CheckResultOut(Schema):
    name = fields.String()
    ok = fields.Boolean()
    figures = fields.Dict()
    problems = fields.List(fields.String())


class TaxOut(Schema):
    rate = fields.String(metadata={"example": "0.35"})
    amount = fields.String(metadata={"example": "1234.50"})
    transfer_id = Integer(allow_none=True)


class SweepOut(Schema):
    float_amount = fields.String(attribute="float", data_key="float")
    balance_before = fields.String()
    amount = fields.String()
    transfer_id = Integer(allow_none=True)


class ChipsOut(Schema):
    at_start = fields.String()
    at_end = fields.String()


class GamingDayReportOut(Schema):
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


class AlertOut(Schema):
    id = Integer()
    type = fields.String(
        metadata={
            "description": "ltr, structuring, minimal_play, mainland_wallet, "
            "mainland_yearly_cap, or another rule's"
        }
    )
    status = fields.String(metadata={"description": "open, acknowledged, escalated or dismissed"})
    casino = fields.String(attribute="casino_ref", allow_none=True)
    wallet = Integer(attribute="wallet_id", allow_none=True)
    operator = fields.String(attribute="operator_code", allow_none=True)
    raised_at = fields.DateTime()
    due_at = fields.DateTime(
        allow_none=True, metadata={"description": "When an STR is due (suspicions only)"}
    )
    overdue = fields.Boolean()
    summary = fields.String()
    evidence = fields.Dict()
    acknowledged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    str_reference = fields.String(allow_none=True)
    filed_late = fields.Boolean(allow_none=True)
    note = fields.String(allow_none=True)


class AlertListArgs(IdPageArgs):
    casino = fields.String(validate=validate.Length(max=16))
    type = fields.String(validate=Pattern(r"^[a-z_]{1,32}$"))
    status = fields.String(
        validate=validate.OneOf(["open", "acknowledged", "escalated", "dismissed"])
    )
    overdue = fields.Boolean()
    wallet = Integer(validate=validate.Range(min=1, max=MAX_ID))


class EscalateBody(StrictSchema):
    note = fields.String(validate=[validate.Length(max=1000), _no_controls])


class DismissBody(StrictSchema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=1000), _no_controls])


class ExclusionCreate(StrictSchema):
    holder_id = fields.String(required=True, validate=Pattern(r"^[A-Za-z0-9_.:-]{1,64}$"))
    kind = fields.String(required=True, validate=validate.OneOf(["self", "family"]))
    starts_on = fields.Date(metadata={"description": "Default: today (UTC+8)"})
    ends_on = fields.Date(required=True, metadata={"description": "Last day, inclusive"})
    casino = _ref_field("Only this casino (default: every casino)")


class ExclusionOut(Schema):
    id = Integer()
    holder_id = fields.String()
    casino = fields.String(attribute="casino_ref", allow_none=True)
    kind = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    status = fields.String(
        metadata={"description": "scheduled, active, revocation_pending, revoked or ended"}
    )
    requested_at = fields.DateTime()
    revocation_requested_at = fields.DateTime(allow_none=True)
    revoked_from = fields.DateTime(allow_none=True)


class ExclusionListArgs(Id32PageArgs):
    holder_id = fields.String(validate=validate.Length(max=64))
