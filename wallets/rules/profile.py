"""Rule profiles: versioned, validated YAML files holding every threshold.

`default` ships with the product (wallets/rules/profiles/); more can be added
there. A profile that does not validate is refused at load with the path of
the bad key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import marshmallow as ma
import yaml

from ..money import AmountError, parse_amount

if TYPE_CHECKING:
    from ..db import Tx
    from ..limits import Limits

PROFILE_DIR = Path(__file__).parent / "profiles"
SUPPORTED_VERSIONS = (1,)


class ProfileError(ValueError):
    """A profile file is missing or malformed; the message names the bad key."""


@dataclass(frozen=True)
class Profile:
    name: str
    version: int
    description: str
    wallet_limits: dict[int, Limits]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


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


class _ProfileAmount(ma.fields.Field):
    """CNY as a decimal string (null: no limit), parsed to fen."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_amount(value)
        except AmountError as exc:
            raise ma.ValidationError(str(exc)) from exc


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


class _ProfileSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    version = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.OneOf(SUPPORTED_VERSIONS)
    )
    description = ma.fields.String(load_default="")
    wallet_limits = ma.fields.Nested(_WalletLimitsSchema, required=True)


def _first_error(messages: Any, path: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        key, value = next(iter(sorted(messages.items(), key=lambda kv: str(kv[0]))))
        return _first_error(value, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], path)
    return path or "(top)", str(messages)


def parse_profile(data: Any, source: str = "<profile>") -> Profile:
    """Validate a profile (unknown keys are errors too) and build it."""
    from ..limits import Limits

    if not isinstance(data, dict):
        raise ProfileError(f"{source}: (top): a profile is a mapping")
    try:
        loaded = _ProfileSchema().load(data)
    except ma.ValidationError as exc:
        key, message = _first_error(exc.messages)
        raise ProfileError(f"{source}: {key}: {message}") from exc
    limits = loaded["wallet_limits"]
    return Profile(
        name=loaded["name"],
        version=loaded["version"],
        description=loaded["description"],
        wallet_limits={cls: Limits(**limits[f"class_{cls}"]) for cls in (1, 2, 3, 4)},
        raw=data,
    )


def active_profile(tx: Tx) -> Profile:
    return load_profile(tx.sandbox.profile)
