"""The docs' concrete claims that can be checked mechanically stay true: the
endpoints they name exist with that method, the `ecny` commands and options
they show exist, the code they point to exists, the environment variables are
the ones the sandbox reads, and docs/macau.md's profile table is macau.yaml."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import yaml

from app.cli import main
from app.errors import status_for
from wallets.core.config import Settings
from wallets.core.errors import CODES
from wallets.supervision.alerts import TYPES

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def _text(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def _ids(paths):
    return [p.name for p in paths]


# ---- endpoints ----------------------------------------------------------------------

_ENDPOINT = re.compile(
    r"`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) "
    r"(/v1/[^`\s?]*|/healthz|/openapi\.json)"
)


def _route_pattern(rule: str) -> re.Pattern:
    parts = re.split(r"<[^>]+>", rule)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


def test_every_endpoint_the_docs_name_exists_with_its_method(sandbox):
    rules = [(_route_pattern(r.rule), r.methods or set()) for r in sandbox.app.url_map.iter_rules()]
    named: dict[str, int] = {}
    for doc in DOCS:
        for m in _ENDPOINT.finditer(_text(doc)):
            methods, path = m.group(1).split("/"), m.group(2)
            if "..." in path or "[" in path:
                continue  # shorthand ("GET /v1/settlement/windows[/current|/{id}]")
            path = re.sub(r"\{[^}]+\}", "1", path)
            for method in methods:
                assert any(p.fullmatch(path) and method in ms for p, ms in rules), (
                    f"{doc.name}: {method} {m.group(2)} is no route of the app"
                )
                named[doc.name] = named.get(doc.name, 0) + 1
    # The pattern still finds what it checks.
    assert min(named.get(d, 0) for d in ("README.md", "macau.md", "security.md")) > 10, named


# ---- the ecny command ------------------------------------------------------------------


def _command_lines(text: str):
    """(command words, options) of every `ecny ...` the text shows: a line of a
    code block (with the options in its comment, and in the comment lines
    that continue it), or an inline code span."""
    last = None
    for line in text.splitlines():
        spans = re.findall(r"`([^`]*\becny [a-z][^`]*)`", line)
        if re.search(r"(?:^|/)ecny [a-z]", line) and not spans:
            last = line
            yield _parse(line)
        elif last is not None and re.match(r"\s+#", line):
            yield _parse(last + line)
        else:
            last = None
        for span in spans:
            yield _parse(span)


def _parse(text: str):
    words = text[text.index("ecny ") + 5 :].split()
    return words, re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text)


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_ecny_command_and_option_the_docs_show_exists(doc):
    checked = 0
    for words, options in _command_lines(_text(doc)):
        command: click.Command = main
        path = ["ecny"]
        for word in words:
            if not isinstance(command, click.Group) or word.startswith("-"):
                break
            sub = command.commands.get(word)
            if sub is None:
                break
            command, path = sub, [*path, word]
        rest = words[len(path) - 1 :]
        assert command is not main and not (
            isinstance(command, click.Group) and rest and not rest[0].startswith("-")
        ), f"{doc.name}: ecny {' '.join(words)}: no such command"
        known = {o for p in command.params for o in getattr(p, "opts", [])}
        for option in options:
            assert option in known, f"{doc.name}: {' '.join(path)} has no option {option}"
        checked += 1
    if doc.name in ("README.md", "audit.md"):
        assert checked > 5


# ---- code the docs point to ------------------------------------------------------------

_CODE_REF = re.compile(r"`((?:app|wallets|tests|bench)/[\w/.-]+\.py)(?::\s*([A-Za-z_][\w.]*))?")


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_module_and_function_the_docs_point_to_exists(doc):
    text = re.sub(r"\s+", " ", _text(doc))
    for m in _CODE_REF.finditer(text):
        path, name = ROOT / m.group(1), m.group(2)
        assert path.is_file(), f"{doc.name}: {m.group(1)} does not exist"
        if name:
            base = name.split(".")[0]
            defined = re.compile(rf"^\s*(?:async\s+)?(?:def|class)\s+{base}\b|^{base}\s*[:=]", re.M)
            assert defined.search(path.read_text(encoding="utf-8")), (
                f"{doc.name}: {m.group(1)} defines no {base}"
            )


# ---- environment variables -------------------------------------------------------------


def test_the_readme_configuration_table_is_what_settings_read():
    readme = _text(ROOT / "README.md")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| `") and "make variable" not in r]
    table = {re.match(r"\| `([A-Z_]+)`", r).group(1) for r in rows}
    read = set(
        re.findall(
            r'env(?:\.get\(|\[)"([A-Z_]+)"',
            Path(Settings.from_env.__code__.co_filename).read_text(),
        )
    )
    assert table == read, (table - read, read - table)


def test_every_environment_variable_the_docs_name_is_read_somewhere():
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in ("app", "wallets", "bench", "tests")
        for p in (ROOT / folder).rglob("*.py")
    ) + (ROOT / "Makefile").read_text(encoding="utf-8")
    for doc in DOCS:
        for name in set(re.findall(r"\bECNY_[A-Z_]+\b", _text(doc))):
            assert name in code, f"{doc.name}: {name} is read nowhere"


# ---- docs/macau.md's rule profile ------------------------------------------------------


def _macau_table() -> dict[str, str]:
    text = _text(ROOT / "docs/macau.md")
    section = text.split("| key (`macau.yaml`) |", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"^\| `([a-z_.0-9]+)` \| `([^`]+)` \|", section, re.M))


def test_macau_md_profile_table_is_macau_yaml():
    shipped = yaml.safe_load((ROOT / "wallets/rules/profiles/macau.yaml").read_text())
    table = _macau_table()
    assert len(table) >= 20
    for key, value in table.items():
        node = shipped
        for part in key.split("."):
            node = node[part]
        assert node == yaml.safe_load(value), (
            f"docs/macau.md says {key} is {value}, macau.yaml {node!r}"
        )

    def leaves(node, prefix=""):
        for k, v in node.items():
            if isinstance(v, dict):
                yield from leaves(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}"

    undocumented = [
        k
        for k in leaves(shipped)
        if k.split(".")[0] not in ("name", "version", "description", "wallet_limits")
        and not any(k == t or k.startswith(f"{t}.") for t in table)  # or a whole section
    ]
    assert undocumented == []


def test_macau_md_alert_types_are_the_sandboxs():
    text = _text(ROOT / "docs/macau.md")
    section = text.split("| type | fires when |", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", section, re.M)
    # The central bank's alerts are settlement's (docs/settlement.md) and offline
    # payments' (docs/offline.md), not a casino's.
    assert set(documented) == set(TYPES) - {"ndc_threshold", "offline_double_spend"}, documented
    example = text.split("from wallets.supervision.alerts import raise_alert", 1)[1]
    assert re.search(r'^\s+"([a-z_]+)",', example, re.M).group(1) in TYPES


# ---- docs/wallets.md's classes ---------------------------------------------------------


def test_wallets_md_class_table_is_the_shipped_profiles():
    text = _text(ROOT / "docs/wallets.md")
    rows = re.findall(
        r"^\| ([1-4]) \| [^|]+ \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|", text, re.M
    )
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]

    def amount(cell: str) -> str | None:
        cell = cell.strip()
        return None if cell == "none" else f"{cell.replace(',', '')}.00"

    for name in ("default", "macau"):
        shipped = yaml.safe_load((ROOT / f"wallets/rules/profiles/{name}.yaml").read_text())
        for cls, *cells in rows:
            limits = shipped["wallet_limits"][f"class_{cls}"]
            documented = dict(
                zip(
                    ("balance_cap", "single_payment", "daily_out", "annual_out"),
                    map(amount, cells),
                    strict=True,
                )
            )
            assert documented == limits, (name, cls, documented, limits)


# ---- error codes quoted with their status ----------------------------------------------


def test_every_status_and_code_the_docs_quote_together_agree():
    """ "`409 gaming_day_not_over`" anywhere in the docs: the code exists and
    answers that status (docs/errors.md's table is checked by test_docs.py)."""
    quoted = 0
    for doc in DOCS:
        text = re.sub(r"\s+", " ", _text(doc))
        for m in re.finditer(r"`(\d{3}) ([a-z][a-z_]+)`", text):
            status, code = int(m.group(1)), m.group(2)
            if (status, code) == (500, "internal_error"):
                continue  # a bug's answer, not a domain code
            assert code in CODES, f"{doc.name}: {code} is no error code"
            assert status_for(code) == status, f"{doc.name}: {code} is {status_for(code)}"
            quoted += 1
    assert quoted > 30
