"""What every resource's schemas share: the field types (amounts, instants,
ids, patterns), the base ``Input`` and ``StrictSchema``, paging (``page_of``)
and the problem body. Amounts cross the edge here, as strings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate

from wallets.core.clock import INSTANT_MAX, INSTANT_MIN
from wallets.core.errors import CODES
from wallets.core.schema import MAX_ID, MAX_ID32
from wallets.ledger.money import (
    MAX_AMOUNT_FEN,
    AmountError,
    DecimalSetting,
    format_amount,
    parse_amount,
)

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


def dict_properties(converter, field, ret: dict, **kwargs) -> dict:
    """A Dict's Length bounds count its keys: apispec writes them as minLength and
    maxLength (words for strings); the document says minProperties and maxProperties."""
    if not isinstance(field, fields.Dict):
        return {}
    bounds = {}
    for text_word, object_word in (("minLength", "minProperties"), ("maxLength", "maxProperties")):
        if text_word in ret:
            bounds[object_word] = ret.pop(text_word)
    return bounds


def one_of(values: Iterable[str], **kwargs) -> fields.String:
    """A text field of a response that is always one of ``values`` (the domain's
    own tuple of them): an ``enum`` in the document."""
    metadata = kwargs.pop("metadata", {})
    return fields.String(metadata={**metadata, "enum": list(values)}, **kwargs)


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
                text.validators.append(no_controls)


class Output(Schema):
    """A response body. Every field is always in it, so the OpenAPI document
    lists every field as ``required`` (a generated client's model then has no
    ``Unset``); a field that may be null says so with ``allow_none`` (``nullable``).
    A field a response may leave out would say ``metadata={"optional": True}``."""

    def on_bind_field(self, field_name, field_obj):
        # ``required`` only matters when loading, which a response schema never
        # does: here it is what the document says of the dumped body.
        field_obj.required = not field_obj.metadata.get("optional", False)


class StrictSchema(Input):
    """Unknown fields are an error (marshmallow's default, stated on purpose)."""

    class Meta:
        ordered = True


def reference_field() -> fields.String:
    return fields.String(
        validate=[validate.Length(max=REFERENCE_MAX_LENGTH), no_controls],
        allow_none=True,
        metadata={"description": "Free text for the payer's records, no control characters"},
    )


def wallet_id(**kwargs) -> fields.Integer:
    return Integer(strict=True, validate=validate.Range(min=MIN_ID, max=MAX_ID), **kwargs)


def id_field(maximum: int = MAX_ID, **kwargs) -> fields.Integer:
    """An id: of a 64-bit column (``MAX_ID``) or a 32-bit one (``MAX_ID32``)."""
    return Integer(validate=validate.Range(min=1, max=maximum), **kwargs)


no_controls = Pattern(NO_CONTROLS_PATTERN, error="must not contain control characters")


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
    return Output.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
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


def casino_ref_field(description: str = "Casino reference", **kwargs) -> fields.String:
    return fields.String(
        validate=Pattern(r"^[A-Z][A-Z0-9_]{1,15}$"),
        metadata={"example": "COTAI", "description": description},
        **kwargs,
    )
