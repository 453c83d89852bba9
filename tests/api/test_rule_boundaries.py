"""Rules at their boundaries, as their sources state them (DOMAIN.md, SPEC.md),
through the API: the day a rule reads is the sandbox day in UTC+8."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import main


def test_a_birth_date_is_a_day_in_utc8_on_opening_and_on_patch(sandbox):
    sb = sandbox
    sb.operator("ICBC")
    # 07:00 on 2 March in Macau is still 1 March in UTC: 2 March is today, not the future.
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-03-02T07:00:00+08:00"})
    body = {"wallet_class": 2, "region": "MO"}
    born_today = sb.ok("POST", "/v1/wallets", key="ICBC", json={**body, "birth_date": "2026-03-02"})
    assert born_today["birth_date"] == "2026-03-02"
    r = sb.post("/v1/wallets", {**body, "birth_date": "2026-03-03"}, key="ICBC")
    assert r.status_code == 422 and "birth_date" in r.get_json()["errors"], r.get_json()

    # A change of birth date obeys the same rule (it was not checked at all).
    w = born_today["id"]
    etag = sb.get(f"/v1/wallets/{w}", key="ICBC").headers["ETag"]
    r = sb.call(
        "PATCH",
        f"/v1/wallets/{w}",
        "ICBC",
        json={"birth_date": "2026-03-03"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 422 and "birth_date" in r.get_json()["errors"], r.get_json()
    assert sb.ok("GET", f"/v1/wallets/{w}", key="ICBC")["birth_date"] == "2026-03-02"
    r = sb.call(
        "PATCH",
        f"/v1/wallets/{w}",
        "ICBC",
        json={"birth_date": "2000-01-01"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200 and r.get_json()["birth_date"] == "2000-01-01", r.get_json()


@pytest.mark.parametrize("cutoff", ["17", "1700", "17:00:30", "17:00+01:00", "24:00", "7:00"])
def test_the_settlement_cutoff_is_hh_mm_from_the_command_line_too(
    cutoff, database_url, monkeypatch
):
    """docs/settlement.md: a daily cutoff is a local time HH:MM (UTC+8); the
    CLI checks the domain's definition, which took anything time.fromisoformat takes."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    bad = CliRunner().invoke(main, ["sandbox", "settlement", "--cutoff", cutoff])
    assert bad.exit_code == 1 and "cutoff: must be a local time HH:MM" in bad.output, bad.output
    shown = CliRunner().invoke(main, ["sandbox", "settlement"])
    assert json.loads(shown.output)["cutoff"] is None, shown.output
    ok = CliRunner().invoke(main, ["sandbox", "settlement", "--cutoff", "07:00"])
    assert ok.exit_code == 0 and json.loads(ok.output)["cutoff"] == "07:00", ok.output
