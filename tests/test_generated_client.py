"""A client generated from the live /openapi.json by openapi-python-client
works as it is: the README's walk-through (tests/generated_client/walkthrough.py)
runs with it against a real server, and type-checks with ``mypy --strict``.

The client is generated once for the module (about a second), into a
temporary folder; the server is the demo of `make run`, seeded afresh."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.conftest import seeded_demo, served

pytest.importorskip(
    "openapi_python_client",
    reason="openapi-python-client is not installed (setup.cfg's `test` extra pins it)",
)

WALKTHROUGH = Path(__file__).parent / "generated_client" / "walkthrough.py"
# The media types the generator has no reader for are downloads: bytes.
GENERATOR_CONFIG = """\
post_hooks: []
content_type_overrides:
  application/gzip: application/octet-stream
  application/x-ndjson: application/octet-stream
  application/xml: application/octet-stream
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo sandbox, served on a free port of 127.0.0.1: (base URL, keys)."""
    app, database, keys = seeded_demo(tmp_path_factory.mktemp("generated-client-server"))
    with served(app) as base:
        yield base, keys
    database.dispose()


@pytest.fixture(scope="module")
def generated(server, tmp_path_factory) -> Path:
    """The folder holding ``ecny_client``, generated from the server's document."""
    base, _ = server
    folder = tmp_path_factory.mktemp("generated-client")
    spec = folder / "openapi.json"
    spec.write_bytes(requests.get(f"{base}/openapi.json", timeout=30).content)
    config = folder / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(folder / "ecny_client"),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def _walkthrough(folder: Path):
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("walkthrough", WALKTHROUGH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["walkthrough"] = module  # its dataclass looks itself up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))


def test_the_readme_walk_through_runs_with_the_generated_client(server, generated):
    base, keys = server
    walkthrough = _walkthrough(generated)
    done = walkthrough.walk(
        base,
        keys[("central_bank", None)],
        keys[("operator", "ICBC")],
        keys[("auditor", None)],
    )

    assert (done.issued.kind, done.issued.amount, done.issued.to_operator) == (
        "issuance",
        "1000000.00",
        "ICBC",
    )
    assert (done.funded.kind, done.funded.to_wallet, done.funded.amount) == (
        "funding",
        2,
        "2500.50",
    )
    paid = done.paid
    assert (paid.kind, paid.from_wallet, paid.to_wallet, paid.reference) == (
        "payment",
        2,
        10,
        "dinner",
    )
    assert (paid.from_operator, paid.to_operator, done.paid_amount) == (
        "ICBC",
        "BOCMO",
        Decimal("1234.56"),
    )
    # the replay: the first answer again, marked, and nothing paid twice
    assert done.replayed_header == "true"
    assert done.replayed.to_dict() == paid.to_dict()
    # wallet 2 of the demo holds CNY 80,000.00 (wallets/seed.py)
    assert done.balance == Decimal("80000.00") + Decimal("2500.50") - Decimal("1234.56")
    assert done.operator.code == "ICBC" and done.operator.reconciled is True
    assert done.reconciled is True
    assert (done.refused.status, done.refused.code) == (422, "insufficient_funds")
    assert done.refused.request_id and done.refused.detail
    assert (done.invalid.status, done.invalid.code) == (422, "validation_failed")
    assert "amount" in done.invalid.errors.to_dict()


def test_the_walk_through_type_checks_with_mypy_strict(generated):
    """Every field the walk reads is typed as present (not ``X | Unset``) and the
    request headers are declared parameters: ``mypy --strict`` finds nothing,
    in the script or in the generated package it imports."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(generated / ".mypy_cache"),
            str(WALKTHROUGH),
        ],
        cwd=generated,  # its MYPYPATH: the generated package; no config of the repo's
        env={"MYPYPATH": str(generated), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
