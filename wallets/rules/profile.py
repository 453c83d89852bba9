"""Rule profiles: versioned, validated documents holding every threshold.

`default` and `macau` ship with the product (wallets/rules/profiles/*.yaml);
more can be added there, or a sandbox can be given a profile document of its
own (JSON, the same format) through the API. A profile that does not validate
is refused at load with the path of the bad key.

Format version 1 holds the wallet-class limits and, optionally, `anonymity`
(managed anonymity: pseudonymous classes, the legal bases of identity
reveals; either version). Version 2 adds optional sections: `fx` (exchange rates), `alerts` (when suspicion alerts fall due) and
`casino` (the Macau casino rules of SPEC.md §6, which need `fx`). Amounts are
decimal strings of their currency; rates and shares are decimal strings too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import marshmallow as ma
import sqlalchemy as sa
import yaml

from ..core import errors, outbox
from ..core.preconditions import IfMatch, check, etag_of
from ..core.schema import sandbox
from ..ledger.money import (
    AmountError,
    apply_rate,
    divide_by_rate,
    format_amount,
    parse_amount,
    parse_rate,
)

if TYPE_CHECKING:
    from ..core.db import Tx

PROFILE_DIR = Path(__file__).parent / "profiles"
SUPPORTED_VERSIONS = (1, 2)
MAINLAND_ACTIONS = ("alert", "refuse")
# Who pays the payee of an offline voucher its payer's purse could not honour
# (a double spend): the payer's operator, whose hardware wallet signed it, or
# the payee's, which accepted the payee's device (docs/offline.md).
LOSS_BEARERS = ("payer_operator", "payee_operator")


# The wallet-class limits (wallets/retail/limits.py enforces them).
LIMIT_NAMES = ("balance_cap", "single_payment", "daily_out", "annual_out")


@dataclass(frozen=True)
class Limits:
    balance_cap: int | None = None
    single_payment: int | None = None
    daily_out: int | None = None
    annual_out: int | None = None

    def lowered_by(self, other: Limits) -> Limits:
        """The stricter of the two, limit by limit (None is no limit)."""
        values = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = (
                theirs if mine is None else mine if theirs is None else min(mine, theirs)
            )
        return Limits(**values)

    def as_dict(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in LIMIT_NAMES}


class ProfileError(ValueError):
    """A profile file is missing or malformed; the message names the bad key."""


# The currencies a casino's chips may be in (docs/macau.md §13).
CHIP_CURRENCIES = ("CNY", "HKD", "MOP")
# The pataca's peg to the Hong Kong dollar (DOMAIN.md §2) when the profile gives none.
MOP_PER_HKD = Decimal("1.03")
# A rate derived from others (HKD per CNY) is kept to this many decimals, half even.
RATE_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class FxRates:
    """The profile's exchange rates. ``mop_per_cny`` is the base; ``rates`` is
    the rate table on the sandbox clock: (effective from, MOP per CNY), sorted;
    the entry in force at an instant is the last one effective at or before it
    (the base before the first). HKD follows MOP by the peg ``mop_per_hkd``."""

    mop_per_cny: Decimal
    cny_per_usd: Decimal
    mop_per_hkd: Decimal = MOP_PER_HKD
    rates: tuple[tuple[datetime, Decimal], ...] = ()

    def mop_per_cny_at(self, at: datetime) -> Decimal:
        """The MOP per CNY rate in force at ``at``."""
        rate = self.mop_per_cny
        for since, value in self.rates:
            if since > at:
                break
            rate = value
        return rate

    def mop_per_cny_before(self, at: datetime) -> Decimal:
        """The rate in force just before ``at`` (the last instant of a period ending there)."""
        rate = self.mop_per_cny
        for since, value in self.rates:
            if since >= at:
                break
            rate = value
        return rate

    def chips_per_cny(self, currency: str, mop_per_cny: Decimal) -> Decimal:
        """Units of ``currency`` one CNY buys at ``mop_per_cny``: 1 for CNY; MOP
        per CNY; HKD per CNY = MOP per CNY / MOP per HKD, to 6 decimals (half even)."""
        if currency == "CNY":
            return Decimal(1)
        if currency == "MOP":
            return mop_per_cny
        return (mop_per_cny / self.mop_per_hkd).quantize(RATE_PLACES, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Contribution:
    """One contribution of the gaming-day close: its name (the key a casino's
    beneficiary wallet is registered under) and its share of a positive GGR."""

    name: str
    share: Decimal


@dataclass(frozen=True)
class AlertRules:
    # Suspicious transaction reports reach the GIF within this many working days.
    str_due_working_days: int
    # Days that are not working days besides Saturdays and Sundays: the public
    # holidays of a fixed date (month, day) every year, and dated ones (the
    # lunar and Easter holidays, compensatory rest days) listed per year.
    fixed_holidays: frozenset[tuple[int, int]] = frozenset()
    holiday_dates: frozenset[date] = frozenset()

    def is_holiday(self, day: date) -> bool:
        return (day.month, day.day) in self.fixed_holidays or day in self.holiday_dates


@dataclass(frozen=True)
class OfflineRules:
    """Dual offline payments (docs/offline.md). The sandbox's defaults, which a
    profile without an ``offline`` section gets (format version 1 has none);
    the shipped profiles state them."""

    # The most a purse may hold once loaded (fen): sandbox default, CNY 2,000,
    # the class 4 single-payment cap (DOMAIN.md §1 gives no figure for purses).
    purse_cap: int = 200_000
    # A synced voucher's money waits in its payee operator's OFFLINE_PENDING
    # account this long (sandbox time) before it reaches the payee's wallet.
    validation_hours: int = 24
    # An unload the device cannot prove complete (its last counter, signed)
    # waits this long for vouchers still offline.
    unload_wait_hours: int = 72
    loss_bearer: str = "payer_operator"


@dataclass(frozen=True)
class CasinoRules:
    """The casino rules of a profile; amounts in fen of their currency, and the
    thresholds converted to CNY fen at the profile's rates."""

    gaming_day_cutoff: time
    minimum_age: int
    exclusion_revocation_delay_days: int
    exclusion_max_duration_years: int
    ltr_threshold_mop: int
    ltr_threshold: int  # CNY fen: the MOP threshold at mop_per_cny, rounded up
    identified_classes: tuple[int, ...]
    structuring_window_hours: int
    structuring_min_transactions: int
    minimal_play_cash_out_ratio: Decimal
    minimal_play_bet_ratio: Decimal
    mainland_regions: tuple[str, ...]
    mainland_action: str
    mainland_yearly_cap_usd: int
    mainland_yearly_cap: int  # CNY fen at cny_per_usd
    special_gaming_tax: Decimal
    # Paid separately, each to its beneficiary (Law 16/2001 art. 27-29).
    contributions: tuple[Contribution, ...]
    # A buy-in debits the player's e-CNY only with a payment code the player's
    # wallet issued (wallets/retail/payment_codes.py), valid this many seconds.
    payment_code_required: bool
    payment_code_lifetime_seconds: int
    # Gaming promoters (optional section; None: the profile has no promoter rules).
    promoter_commission_cap: Decimal | None = None  # share of net rolling
    promoter_withholding_tax: Decimal | None = None  # share of the commission
    # FATF/APG 2009 red flags (optional sections; None: the rule is off).
    third_party_payout_action: str | None = None  # "alert" or "refuse"
    chip_walking_gaming_days: int | None = None
    pooling_min_contributors: int | None = None


@dataclass(frozen=True)
class AnonymityRules:
    """Managed ("controllable") anonymity (DOMAIN.md §1, docs/anonymity.md):
    the classes whose holders are pseudonymous (their operator's reads show no
    name or birth date either), the legal bases an identity reveal may cite,
    and how long a requested reveal waits for its second key's approval."""

    pseudonymous_classes: tuple[int, ...]
    legal_bases: tuple[str, ...]
    approval_hours: int | None  # None: no basis accepted, so no reveal to approve


# A profile without an `anonymity` section: class 4 is the class opened with a
# phone number only (SPEC.md §4), and no identity reveal is accepted.
NO_REVEALS = AnonymityRules(pseudonymous_classes=(4,), legal_bases=(), approval_hours=None)


@dataclass(frozen=True)
class Profile:
    name: str
    version: int
    description: str
    wallet_limits: dict[int, Limits]
    fx: FxRates | None = None
    alerts: AlertRules | None = None
    casino: CasinoRules | None = None
    anonymity: AnonymityRules = NO_REVEALS
    offline: OfflineRules = OfflineRules()
    # The document as given (validated): what GET /v1/rules shows and a custom profile starts from.
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def derived(self) -> dict[str, str]:
        """The figures the sandbox computes from the document, as strings."""
        if self.casino is None:
            return {}
        assert self.fx is not None, "a profile with casino rules has fx"
        return {
            "ltr_threshold_cny": format_amount(self.casino.ltr_threshold),
            # HKD chips' threshold, by the peg (docs/macau.md §13).
            "ltr_threshold_hkd": format_amount(
                divide_by_rate(self.casino.ltr_threshold_mop, self.fx.mop_per_hkd)
            ),
            "mainland_yearly_cap_cny": format_amount(self.casino.mainland_yearly_cap),
        }


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


@lru_cache(maxsize=16)
def load_profile(name: str) -> Profile:
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ProfileError(
            f"no rule profile named {name!r} (have: {', '.join(available_profiles())})"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path.name}: not valid YAML: {exc}") from exc
    return parse_profile(data, source=path.name)


# ---- the format ---------------------------------------------------------------


class _ProfileAmount(ma.fields.Field):
    """An amount as a decimal string (null: no limit), parsed to minor units."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_amount(value)
        except AmountError as exc:
            raise ma.ValidationError(str(exc)) from exc


class _Rate(ma.fields.Field):
    """A rate or share as a decimal string, parsed to a Decimal."""

    def __init__(self, *, share: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.share = share

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            rate = parse_rate(value)
        except AmountError as exc:
            raise ma.ValidationError(str(exc)) from exc
        if rate <= 0 or (self.share and rate > 1):
            raise ma.ValidationError("must be above 0" + (" and at most 1" if self.share else ""))
        return rate


class _ClockTime(ma.fields.Field):
    """A time of day as "HH:MM"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
            raise ma.ValidationError('must be a time of day such as "06:00"')
        try:
            return time(int(value[:2]), int(value[3:]))
        except ValueError as exc:
            raise ma.ValidationError('must be a time of day such as "06:00"') from exc


class _Flag(ma.fields.Field):
    """true or false, and nothing else (not 1, not "yes")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ma.ValidationError("must be true or false")
        return value


def _count(minimum: int = 0, maximum: int = 10_000, **kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(minimum, maximum), **kwargs)


class _LimitsSchema(ma.Schema):
    balance_cap = _ProfileAmount(required=True, allow_none=True)
    single_payment = _ProfileAmount(required=True, allow_none=True)
    daily_out = _ProfileAmount(required=True, allow_none=True)
    annual_out = _ProfileAmount(required=True, allow_none=True)


class _WalletLimitsSchema(ma.Schema):
    class_1 = ma.fields.Nested(_LimitsSchema, required=True)
    class_2 = ma.fields.Nested(_LimitsSchema, required=True)
    class_3 = ma.fields.Nested(_LimitsSchema, required=True)
    class_4 = ma.fields.Nested(_LimitsSchema, required=True)


class _Instant(ma.fields.Field):
    """A sandbox time as ISO 8601 with its offset, such as "2026-03-02T14:00:00+08:00"."""

    def _deserialize(self, value, attr, data, **kwargs):
        message = 'must be a time with its offset such as "2026-03-02T14:00:00+08:00"'
        try:
            if not isinstance(value, str) or len(value) > 40:
                raise ValueError
            at = datetime.fromisoformat(value)
        except ValueError:
            raise ma.ValidationError(message) from None
        if at.tzinfo is None:
            raise ma.ValidationError(message)
        return at.astimezone(UTC)


class _DatedRateSchema(ma.Schema):
    # "from" is a Python keyword: the attribute is "since".
    since = _Instant(required=True, data_key="from")
    mop_per_cny = _Rate(required=True)


class _FxSchema(ma.Schema):
    mop_per_cny = _Rate(required=True)
    cny_per_usd = _Rate(required=True)
    mop_per_hkd = _Rate()
    rates = ma.fields.List(
        ma.fields.Nested(_DatedRateSchema), validate=ma.validate.Length(max=1000)
    )

    @ma.validates_schema
    def _hkd_rates(self, data, **kwargs):
        peg = data.get("mop_per_hkd", MOP_PER_HKD)
        for rate in [data.get("mop_per_cny"), *(r["mop_per_cny"] for r in data.get("rates", []))]:
            if rate is not None and (rate / peg).quantize(RATE_PLACES, ROUND_HALF_EVEN) == 0:
                raise ma.ValidationError(
                    f"MOP {rate} per CNY at {peg} MOP per HKD is HKD 0.000000 per CNY "
                    "(to 6 decimals): no rate",
                    field_name="mop_per_hkd",
                )

    @ma.validates_schema
    def _in_order(self, data, **kwargs):
        times = [r["since"] for r in data.get("rates", [])]
        if any(b <= a for a, b in zip(times, times[1:], strict=False)):
            raise ma.ValidationError(
                "entries must be in order of their time, each after the one before",
                field_name="rates",
            )


class _MonthDay(ma.fields.Field):
    """A day of every year as "MM-DD" (29 February is refused: not every year has it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            if not isinstance(value, str) or len(value) != 5 or value[2] != "-":
                raise ValueError
            day = date(2001, int(value[:2]), int(value[3:]))
        except ValueError:
            raise ma.ValidationError('must be a day of every year such as "12-25"') from None
        return day.month, day.day


class _IsoDate(ma.fields.Field):
    """A date as "YYYY-MM-DD"."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise ma.ValidationError('must be a date such as "2026-02-17"') from None


class _HolidaysSchema(ma.Schema):
    fixed = ma.fields.List(_MonthDay(), required=True, validate=ma.validate.Length(max=366))
    dated = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{4}$")),
        values=ma.fields.List(_IsoDate(), validate=ma.validate.Length(max=366)),
        required=True,
    )

    @ma.validates_schema
    def _in_their_year(self, data, **kwargs):
        for year, days in data.get("dated", {}).items():
            for day in days:
                if str(day.year) != year:
                    raise ma.ValidationError(
                        f"{day.isoformat()} is not in {year}", field_name="dated"
                    )


class _OfflineSchema(ma.Schema):
    purse_cap = _ProfileAmount(required=True)
    validation_hours = _count(0, 24 * 365, required=True)
    unload_wait_hours = _count(0, 24 * 365, required=True)
    loss_bearer = ma.fields.String(required=True, validate=ma.validate.OneOf(LOSS_BEARERS))


class _AlertsSchema(ma.Schema):
    str_due_working_days = _count(1, 30, required=True)
    holidays = ma.fields.Nested(_HolidaysSchema)


class _ExclusionSchema(ma.Schema):
    revocation_delay_days = _count(0, 3660, required=True)
    max_duration_years = _count(1, 100, required=True)


class _LargeTransactionSchema(ma.Schema):
    threshold_mop = _ProfileAmount(required=True)
    identified_classes = ma.fields.List(
        ma.fields.Integer(strict=True, validate=ma.validate.OneOf([1, 2, 3, 4])),
        required=True,
        validate=ma.validate.Length(min=1),
    )


class _StructuringSchema(ma.Schema):
    window_hours = _count(1, 24 * 366, required=True)
    min_transactions = _count(2, 1000, required=True)


class _MinimalPlaySchema(ma.Schema):
    cash_out_ratio = _Rate(share=True, required=True)
    bet_ratio = _Rate(share=True, required=True)


class _MainlandSchema(ma.Schema):
    regions = ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(r"^[A-Z]{2}$")), required=True
    )
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(MAINLAND_ACTIONS))
    yearly_cap_usd = _ProfileAmount(required=True)


class _ContributionSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$"))
    share = _Rate(share=True, required=True)


class _TaxSchema(ma.Schema):
    special_gaming_tax = _Rate(share=True, required=True)
    contributions = ma.fields.List(
        ma.fields.Nested(_ContributionSchema), required=True, validate=ma.validate.Length(0, 8)
    )

    @ma.validates_schema
    def _shares(self, data, **kwargs):
        contributions = data.get("contributions", [])
        names = [c["name"] for c in contributions]
        if len(set(names)) != len(names):
            raise ma.ValidationError("names must differ", field_name="contributions")
        total = data.get("special_gaming_tax", 0) + sum(c["share"] for c in contributions)
        if total > 1:
            raise ma.ValidationError(
                "the tax and the contributions together must not exceed 1",
                field_name="contributions",
            )


class _PaymentCodesSchema(ma.Schema):
    required = _Flag(required=True)
    lifetime_seconds = _count(1, 86_400, required=True)


class _PromotersSchema(ma.Schema):
    commission_cap = _Rate(share=True, required=True)
    withholding_tax = _Rate(share=True, required=True)


class _ThirdPartyPayoutSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(MAINLAND_ACTIONS))


class _ChipWalkingSchema(ma.Schema):
    gaming_days = _count(1, 3660, required=True)


class _PoolingSchema(ma.Schema):
    min_contributors = _count(1, 1000, required=True)


class _CasinoSchema(ma.Schema):
    gaming_day_cutoff = _ClockTime(required=True)
    minimum_age = _count(0, 150, required=True)
    exclusion = ma.fields.Nested(_ExclusionSchema, required=True)
    large_transaction = ma.fields.Nested(_LargeTransactionSchema, required=True)
    structuring = ma.fields.Nested(_StructuringSchema, required=True)
    minimal_play = ma.fields.Nested(_MinimalPlaySchema, required=True)
    mainland = ma.fields.Nested(_MainlandSchema, required=True)
    tax = ma.fields.Nested(_TaxSchema, required=True)
    payment_codes = ma.fields.Nested(_PaymentCodesSchema, required=True)
    promoters = ma.fields.Nested(_PromotersSchema)
    third_party_payout = ma.fields.Nested(_ThirdPartyPayoutSchema)
    chip_walking = ma.fields.Nested(_ChipWalkingSchema)
    pooling = ma.fields.Nested(_PoolingSchema)


class _AnonymitySchema(ma.Schema):
    pseudonymous_classes = ma.fields.List(
        ma.fields.Integer(strict=True, validate=ma.validate.OneOf([1, 2, 3, 4])), required=True
    )
    legal_bases = ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$")),
        required=True,
        validate=ma.validate.Length(max=32),
    )
    approval_hours = _count(1, 24 * 366, required=True)

    @ma.validates_schema
    def _unique(self, data, **kwargs):
        bases = data.get("legal_bases", [])
        if len(set(bases)) != len(bases):
            raise ma.ValidationError("must differ", field_name="legal_bases")


class _ProfileSchema(ma.Schema):
    name = ma.fields.String(
        required=True, validate=ma.validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,31}$")
    )
    version = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.OneOf(SUPPORTED_VERSIONS)
    )
    description = ma.fields.String(load_default="")
    wallet_limits = ma.fields.Nested(_WalletLimitsSchema, required=True)
    fx = ma.fields.Nested(_FxSchema)
    alerts = ma.fields.Nested(_AlertsSchema)
    casino = ma.fields.Nested(_CasinoSchema)
    # Any version: it is about wallets, as the class limits are.
    anonymity = ma.fields.Nested(_AnonymitySchema)
    offline = ma.fields.Nested(_OfflineSchema)

    @ma.validates_schema
    def _sections(self, data, **kwargs):
        if data.get("version") == 1:
            for section in ("fx", "alerts", "casino", "offline"):
                if section in data:
                    raise ma.ValidationError(
                        "needs version 2 of the profile format", field_name=section
                    )
        if "casino" in data and "fx" not in data:
            raise ma.ValidationError(
                "is required with casino rules (their MOP and USD figures)", field_name="fx"
            )


def _first_error(messages: Any, path: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        key, value = next(iter(sorted(messages.items(), key=lambda kv: str(kv[0]))))
        return _first_error(value, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], path)
    return path or "(top)", str(messages)


def parse_profile(data: Any, source: str = "<profile>") -> Profile:
    """Validate a profile (unknown keys are errors too) and build it."""
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: (top): a profile is a mapping")
    try:
        loaded = _ProfileSchema().load(data)
    except ma.ValidationError as exc:
        key, message = _first_error(exc.messages)
        raise ProfileError(f"{source}: {key}: {message}") from exc
    limits = loaded["wallet_limits"]
    fx = _fx_rates(loaded["fx"]) if "fx" in loaded else None
    casino = None
    if "casino" in loaded:
        assert fx is not None, "_ProfileSchema requires fx with casino rules"
        casino = _casino_rules(loaded["casino"], fx)
    return Profile(
        name=loaded["name"],
        version=loaded["version"],
        description=loaded["description"],
        wallet_limits={cls: Limits(**limits[f"class_{cls}"]) for cls in (1, 2, 3, 4)},
        fx=fx,
        alerts=_alert_rules(loaded["alerts"]) if "alerts" in loaded else None,
        casino=casino,
        anonymity=_anonymity_rules(loaded["anonymity"]) if "anonymity" in loaded else NO_REVEALS,
        offline=OfflineRules(**loaded["offline"]) if "offline" in loaded else OfflineRules(),
        raw=data,
    )


def _fx_rates(f: dict) -> FxRates:
    return FxRates(
        mop_per_cny=f["mop_per_cny"],
        cny_per_usd=f["cny_per_usd"],
        mop_per_hkd=f.get("mop_per_hkd", MOP_PER_HKD),
        rates=tuple((r["since"], r["mop_per_cny"]) for r in f.get("rates", [])),
    )


def _anonymity_rules(a: dict) -> AnonymityRules:
    return AnonymityRules(
        pseudonymous_classes=tuple(sorted(set(a["pseudonymous_classes"]))),
        legal_bases=tuple(a["legal_bases"]),
        approval_hours=a["approval_hours"],
    )


def _alert_rules(a: dict) -> AlertRules:
    holidays = a.get("holidays") or {"fixed": [], "dated": {}}
    return AlertRules(
        str_due_working_days=a["str_due_working_days"],
        fixed_holidays=frozenset(holidays["fixed"]),
        holiday_dates=frozenset(d for days in holidays["dated"].values() for d in days),
    )


def _casino_rules(c: dict, fx: FxRates) -> CasinoRules:
    lt, mainland = c["large_transaction"], c["mainland"]
    return CasinoRules(
        gaming_day_cutoff=c["gaming_day_cutoff"],
        minimum_age=c["minimum_age"],
        exclusion_revocation_delay_days=c["exclusion"]["revocation_delay_days"],
        exclusion_max_duration_years=c["exclusion"]["max_duration_years"],
        ltr_threshold_mop=lt["threshold_mop"],
        ltr_threshold=divide_by_rate(lt["threshold_mop"], fx.mop_per_cny),
        identified_classes=tuple(sorted(set(lt["identified_classes"]))),
        structuring_window_hours=c["structuring"]["window_hours"],
        structuring_min_transactions=c["structuring"]["min_transactions"],
        minimal_play_cash_out_ratio=c["minimal_play"]["cash_out_ratio"],
        minimal_play_bet_ratio=c["minimal_play"]["bet_ratio"],
        mainland_regions=tuple(mainland["regions"]),
        mainland_action=mainland["action"],
        mainland_yearly_cap_usd=mainland["yearly_cap_usd"],
        # Rounded down: a total above the cap in USD is above it in whole fen.
        mainland_yearly_cap=apply_rate(
            mainland["yearly_cap_usd"], fx.cny_per_usd, rounding=ROUND_FLOOR
        ),
        special_gaming_tax=c["tax"]["special_gaming_tax"],
        contributions=tuple(
            Contribution(name=k["name"], share=k["share"]) for k in c["tax"]["contributions"]
        ),
        payment_code_required=c["payment_codes"]["required"],
        payment_code_lifetime_seconds=c["payment_codes"]["lifetime_seconds"],
        promoter_commission_cap=c["promoters"]["commission_cap"] if "promoters" in c else None,
        promoter_withholding_tax=c["promoters"]["withholding_tax"] if "promoters" in c else None,
        third_party_payout_action=(
            c["third_party_payout"]["action"] if "third_party_payout" in c else None
        ),
        chip_walking_gaming_days=c["chip_walking"]["gaming_days"] if "chip_walking" in c else None,
        pooling_min_contributors=c["pooling"]["min_contributors"] if "pooling" in c else None,
    )


# ---- the sandbox's profile ----------------------------------------------------


@lru_cache(maxsize=16)
def _from_document(text: str) -> Profile:
    return parse_profile(json.loads(text), source="the sandbox's profile document")


def active_profile(tx: Tx) -> Profile:
    """The sandbox's profile: its own document if it was given one, else a shipped one."""
    document = tx.sandbox.profile_document
    return _from_document(document) if document else load_profile(tx.sandbox.profile)


def casino_rules(tx: Tx) -> CasinoRules:
    """The active profile's casino rules; a profile without them cannot run a cage."""
    profile = active_profile(tx)
    if profile.casino is None:
        raise errors.DomainError(
            errors.CASINO_RULES_UNAVAILABLE,
            f"the active rule profile {profile.name!r} has no casino rules "
            "(select the macau profile: PUT /v1/sandbox/profile)",
        )
    return profile.casino


def select_profile(
    tx: Tx, *, name: str | None = None, document: Any = None, if_match: IfMatch | None = None
) -> Profile:
    """Make a shipped profile (by name) or a document of the caller's the active one.
    Wallet limits and casino rules apply from the next transfer on. With
    ``if_match``, only while the active profile is at one of its ETags (412)."""
    if (name is None) == (document is None):
        raise _invalid("name", "give either the name of a shipped profile or a document")
    tx.lock_sandbox()
    check(if_match, etag(active_profile(tx)), "the rule profile")
    if name is not None:
        try:
            profile = load_profile(name)
        except ProfileError as exc:
            raise _invalid("name", str(exc)) from exc
        text = None
    else:
        try:
            profile = parse_profile(document, source="document")
        except ProfileError as exc:
            raise _invalid("document", str(exc)) from exc
        if profile.name in available_profiles():
            raise _invalid(
                "document", f"name: {profile.name!r} is a shipped profile's; name yours otherwise"
            )
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    tx.conn.execute(
        sa.update(sandbox)
        .where(sandbox.c.id == 1)
        .values(profile=profile.name, profile_document=text)
    )
    tx.forget_clock()
    active = active_profile(tx)
    outbox.emit(tx, outbox.Event("rules.profile_switched", rules_document(active)))
    return active


def etag(p: Profile) -> str:
    """The profile's ETag: of the whole of it, as ``GET /v1/rules`` renders it."""
    return etag_of("rules", rules_document(p))


def rules_document(p: Profile) -> dict[str, Any]:
    """The profile as ``GET /v1/rules`` renders it (``RulesOut``)."""
    return {
        "name": p.name,
        "version": p.version,
        "description": p.description,
        "source": "shipped" if p.name in available_profiles() else "document",
        "document": p.raw,
        "derived": p.derived(),
    }


def _invalid(field_name: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{field_name}: {message}", errors={field_name: [message]}
    )
