"""Reading a scenario file and validating it against ``schema.json`` before
anything runs: a bad file is refused with the line and the key that is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from wallets.ledger.money import AmountError, parse_signed_amount
from wallets.rules.profile import ProfileError, available_profiles, load_profile, parse_profile

SCHEMA_PATH = Path(__file__).with_name("schema.json")


class ScenarioError(Exception):
    """The scenario file is malformed; nothing of it was run."""


@dataclass
class Scenario:
    path: Path
    doc: dict

    @property
    def name(self) -> str:
        return self.doc["name"]

    def steps(self) -> Iterator[tuple[str, dict]]:
        """(where, step): the inline steps, then those of ``steps_file``, streamed."""
        for i, step in enumerate(self.doc.get("steps") or [], 1):
            yield f"step {i}", step
        if self.doc.get("steps_file"):
            with self.steps_path.open(encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if line.strip():
                        yield f"{self.steps_path.name}:{n}", json.loads(line)

    @property
    def steps_path(self) -> Path:
        return self.path.parent / self.doc["steps_file"]


def domain_enums() -> dict[str, list]:
    """The vocabularies of the scenario schema (its ``$defs`` of these names),
    from the domain modules that define them: the one source of truth."""
    from wallets.casino import exclusions, fx, gaming_days
    from wallets.core import outbox
    from wallets.retail import anonymity, holds, wallet
    from wallets.supervision import alerts
    from wallets.tier1 import settlement

    return {
        "wallet_class": list(wallet.CLASSES),
        "wallet_kind": list(wallet.KINDS),
        "merchant_category": list(wallet.MERCHANT_CATEGORIES),
        "hold_condition": list(holds.CONDITIONS),
        "exclusion_kind": list(exclusions.KINDS),
        "settlement_model": list(settlement.MODELS),
        "profile_name": available_profiles(),
        "alert_type": list(alerts.TYPES),
        "alert_status": list(alerts.STATUSES),
        "gaming_day_check": list(gaming_days.CHECKS),
        "event_type": list(outbox.TYPES),
        "chip_currency": list(fx.CURRENCIES),
        "revealer_role": list(anonymity.REVEALERS),
    }


@cache
def schema() -> dict:
    """``schema.json`` with its enums replaced by the domain's (the file keeps
    copies for readers and editors; a test holds them equal)."""
    doc = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    for name, values in domain_enums().items():
        doc["$defs"][name]["enum"] = values
    return doc


def profile_request(profile: str | dict) -> dict:
    """What ``PUT /v1/sandbox/profile`` is given for a scenario's ``profile``:
    a shipped profile's name, or a document of the scenario's own; ``extends``
    merges the document's keys into a shipped profile's (mappings key by key,
    anything else replaced)."""
    if isinstance(profile, str):
        return {"name": profile}
    document = {k: v for k, v in profile.items() if k != "extends"}
    if "extends" in profile:
        document = _merged(load_profile(profile["extends"]).raw, document)
    return {"document": document}


def _merged(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: _merged(base.get(k), over[k]) if k in over else base[k] for k in base} | {
            k: v for k, v in over.items() if k not in base
        }
    return over


def _validator(sub: dict | None = None) -> jsonschema.Draft202012Validator:
    full = schema()
    return jsonschema.Draft202012Validator(full if sub is None else {**sub, "$defs": full["$defs"]})


def _node_at(node: yaml.Node, path) -> tuple[yaml.Node, yaml.Node | None]:
    """The YAML node at a JSON path, and the key node naming it."""
    key_node = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    key_node, node = k, v
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            key_node, node = None, node.value[part]
        else:
            break
    return node, key_node


def _dotted(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top)"


def _describe(err: jsonschema.ValidationError, root: yaml.Node | None, where: str) -> str:
    path = list(err.absolute_path)
    line = None
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        schema = err.schema
        assert isinstance(schema, Mapping), (
            "the schema of an additionalProperties error is an object"
        )
        allowed = set(schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        if extra:
            path = [*path, extra[0]]
            msg = "unknown key"
            if root is not None:
                _, key = _node_at(root, path)
                line = key.start_mark.line + 1 if key is not None else None
            return f"{where}{'' if line is None else f':{line}'}: {_dotted(path)}: {msg}"
    if root is not None:
        node, key = _node_at(root, path)
        line = (key or node).start_mark.line + 1
    return f"{where}{'' if line is None else f':{line}'}: {_dotted(path)}: {err.message}"


def load(path: str | Path) -> Scenario:
    """Parse and validate; raises :class:`ScenarioError` naming every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as e:
        raise ScenarioError(f"{path}: {e}") from None
    doc = _jsonable(doc)
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_describe(e, root, str(path)) for e in errors]
    if not problems and isinstance(doc, dict) and doc.get("steps_file"):
        problems = list(_check_steps_file(path.parent / doc["steps_file"]))
    if not problems:
        assert root is not None, "a valid scenario is a document, not an empty file"
        problems = list(_check_references(Scenario(path, doc), root))
    if problems:
        raise ScenarioError("\n".join(problems))
    return Scenario(path, doc)


# Which kind of reference each argument of a step (or key of a setup entry) names.
# Only arguments are references: the keys and values under a step's `expect`
# are read by what they are (a balance's key is a wallet, its value an amount).
WALLET_KEYS = (
    "wallet",
    "from",
    "to",
    "player",
    "treasury",
    "pay_to",
    "from_player",
    "to_player",
    "issuer",
    "confirmer",
)
NAME_KEYS = ("hold", "transfer", "exclusion", "campaign", "reveal")
PURSE_KEYS = ("purse", "payee_purse")
SELECTOR_KEYS = {"wallet": "wallet", "casino": "casino", "operator": "operator"}


def _argument_kind(key: str) -> str | None:
    if key in WALLET_KEYS:
        return "wallet"
    if key in NAME_KEYS:
        return "name"
    if key in PURSE_KEYS:
        return "purse"
    if key in ("operator", "casino"):
        return key
    return None


def _check_references(scenario: Scenario, root: yaml.Node) -> Iterator[str]:
    """Every wallet, casino, operator and named result a step or an
    expectation refers to is defined before it (in setup or by an earlier
    step; a step's own `expect` sees what the step defines)."""
    doc = scenario.doc
    setup = doc.get("setup") or {}
    known = {
        "operator": {o["code"] for o in setup.get("operators", [])},
        "wallet": set(),
        "casino": set(),
        "name": {x["name"] for x in setup.get("exclusions", []) if x.get("name")},
        "purse": set(),
        "voucher": set(),
    }

    def unknown(kind: str, value: Any, path: list) -> Iterator[tuple[list, str]]:
        if isinstance(value, str) and value not in known[kind]:
            yield path, f"unknown {kind} {value!r}"

    def arguments(item: dict, path: list) -> Iterator[tuple[list, str]]:
        """The references among a step's (or setup entry's) own arguments."""
        for key, value in item.items():
            kind = _argument_kind(key)
            if kind:
                yield from unknown(kind, value, [*path, key])
        if isinstance(item.get("alert"), dict):
            yield from selector(item["alert"], [*path, "alert"])
        for i, t in enumerate(item.get("transfers") or []):
            for key in ("from", "to"):
                yield from unknown("wallet", t.get(key), [*path, "transfers", i, key])
        for i, ref in enumerate(item.get("wallets") or []):
            yield from unknown("wallet", ref, [*path, "wallets", i])
        for i, v in enumerate(item.get("vouchers") or []):
            yield from unknown("voucher", v, [*path, "vouchers", i])

    def selector(sel: dict, path: list) -> Iterator[tuple[list, str]]:
        for key, kind in SELECTOR_KEYS.items():
            yield from unknown(kind, sel.get(key), [*path, key])
        if sel.get("due_at") is not None:
            try:
                datetime.fromisoformat(sel["due_at"])
            except ValueError as e:
                yield [*path, "due_at"], f"{sel['due_at']!r} is not a time ({e})"

    def balances(expect: dict, path: list) -> Iterator[tuple[list, str]]:
        for ref, amount in (expect.get("balances") or {}).items():
            yield from unknown("wallet", ref, [*path, "balances", ref])
            yield from _amount(amount, [*path, "balances", ref])

    def line_of(path: list) -> str:
        node, key = _node_at(root, path)
        return f"{scenario.path}:{(key or node).start_mark.line + 1}: {_dotted(path)}"

    if doc.get("profile") is not None:
        for p, msg in _check_profile(doc["profile"], ["profile"]):
            yield f"{line_of(p)}: {msg}"

    for i, w in enumerate(setup.get("wallets", [])):
        for p, msg in arguments(w, ["setup", "wallets", i]):
            yield f"{line_of(p)}: {msg}"
        known["wallet"].add(w["ref"])
    for i, c in enumerate(setup.get("casinos", [])):
        for p, msg in arguments(c, ["setup", "casinos", i]):
            yield f"{line_of(p)}: {msg}"
        for name, ref in (c.get("beneficiaries") or {}).items():
            for p, msg in unknown("wallet", ref, ["setup", "casinos", i, "beneficiaries", name]):
                yield f"{line_of(p)}: {msg}"
        known["casino"].add(c["ref"])
        known["wallet"].add(f"{c['ref']}:wallet")
    for i, x in enumerate(setup.get("exclusions", [])):
        for p, msg in arguments(x, ["setup", "exclusions", i]):
            yield f"{line_of(p)}: {msg}"
    inline = len(doc.get("steps") or [])
    for n, (where, step) in enumerate(scenario.steps()):
        problems = list(arguments(step, ["steps", n]))
        if step["action"] == "open_wallet":
            known["wallet"].add(step["ref"])
        if step["action"] == "open_purse":
            known["purse"].add(step["ref"])
        if step["action"] == "offline_pay" and step.get("voucher"):
            known["voucher"].add(step["voucher"])
        problems += balances(step.get("expect") or {}, ["steps", n, "expect"])
        if "checks" in (step.get("expect") or {}) and step["action"] != "close_gaming_day":
            problems.append(
                (["steps", n, "expect", "checks"], "only a close_gaming_day step has checks")
            )
        if step["action"] == "select_profile" and "profile" in step:
            problems += _check_profile(step["profile"], ["steps", n, "profile"])
        for p, msg in problems:
            if n < inline:
                yield f"{line_of(p)}: {msg}"
            else:
                yield f"{scenario.steps_path}:{where.rpartition(':')[2]}: {_dotted(p[2:])}: {msg}"
        if step.get("name"):
            known["name"].add(step["name"])
    expect = doc.get("expect") or {}
    problems = list(balances(expect, ["expect"]))
    for i, sel in enumerate(expect.get("alerts") or []):
        problems += selector(sel, ["expect", "alerts", i])
    problems += _expected_figures(expect)
    for p, msg in problems:
        yield f"{line_of(p)}: {msg}"


def _check_profile(profile: str | dict, path: list) -> Iterator[tuple[list, str]]:
    """An inline profile document is one the API would take: valid by the
    domain's own rules (wallets/rules/profile.py), and not named as a shipped one."""
    if isinstance(profile, str):
        return  # the schema holds it to a shipped profile's name
    try:
        made = parse_profile(profile_request(profile)["document"], source="profile")
    except ProfileError as e:
        key, _, msg = str(e).removeprefix("profile: ").partition(": ")
        yield [*path, *([] if key == "(top)" else key.split("."))], msg
        return
    if made.name in available_profiles():
        yield [*path, "name"], f"{made.name!r} is a shipped profile's; name yours otherwise"


def _amount(text: Any, path: list) -> Iterator[tuple[list, str]]:
    """An expected amount is an amount (wallets/money.py), compared as one."""
    try:
        parse_signed_amount(text)
    except AmountError as e:
        yield path, f"{text!r}: {e}"


def _expected_figures(expect: dict) -> Iterator[tuple[list, str]]:
    """The amounts of the final expectations other than balances."""
    for code, figures in (expect.get("operators") or {}).items():
        for k, v in figures.items():
            yield from _amount(v, ["expect", "operators", code, k])
    for i, gd in enumerate(expect.get("gaming_days") or []):
        for k, v in (gd.get("figures") or {}).items():
            yield from _amount(v, ["expect", "gaming_days", i, "figures", k])
    for i, ws in enumerate(expect.get("settlement") or []):
        for code, figures in (ws.get("operators") or {}).items():
            for k, v in figures.items():
                yield from _amount(v, ["expect", "settlement", i, "operators", code, k])


def _check_steps_file(steps_path: Path) -> Iterator[str]:
    """Each line of a JSON-lines steps file is a step; streamed, so any size."""
    if not steps_path.is_file():
        yield f"{steps_path}: steps_file not found"
        return
    step_validator = _validator(schema()["$defs"]["step"])
    with steps_path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                step = json.loads(line)
            except ValueError as e:
                yield f"{steps_path}:{n}: not JSON ({e})"
                continue
            for err in step_validator.iter_errors(step):
                yield _describe(err, None, f"{steps_path}:{n}")


def _jsonable(value: Any) -> Any:
    """YAML's dates and times back to the strings the schema and the API expect."""
    import datetime as dt

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
