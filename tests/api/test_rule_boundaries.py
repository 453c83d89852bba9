"""Rules at their boundaries, as their sources state them (DOMAIN.md, SPEC.md),
through the API: the day a rule reads is the sandbox day in UTC+8."""

from __future__ import annotations


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
