"""Helpers for the audit tests: a signing key, exports, the `ecny` command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from lxml import etree

from app.cli import main
from wallets.audit import digest as dg
from wallets.audit import export as ex


@pytest.fixture
def key_file(tmp_path):
    return tmp_path / "keys" / "cb-ed25519.pem"


@pytest.fixture
def signing_key(key_file):
    return dg.load_or_create_key(key_file)


@pytest.fixture
def public_key_file(signing_key, tmp_path):
    path = tmp_path / "keys" / "cb-public.pem"
    path.write_text(dg.public_key_pem(signing_key))
    return path


@pytest.fixture(scope="session")
def camt_schema():
    return etree.XMLSchema(etree.parse(str(ex.XSD_PATH)))


def run_cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, result.output + repr(result.exception)
    return result.output


@pytest.fixture
def cli():
    """Run `ecny ...` in-process and check its exit code: cli("audit", "verify", d, code=1)."""
    return run_cli
