"""The sandbox clock: set, advance, and every timestamp follows it."""

from __future__ import annotations


def test_clock_set_advance_and_timestamps(demo):
    got = demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-02-16T23:59:30+08:00"})
    assert got["now"] == "2026-02-16T15:59:30+00:00" and got["fixed"] is True
    assert got["local_now"] == "2026-02-16T23:59:30+08:00"
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    t = demo.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": a, "to_wallet": b, "amount": "1.00"},
        key="ICBC",
    )
    assert t["posted_at"] == "2026-02-16T15:59:30+00:00"
    adv = demo.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 45}, status=200)
    assert adv["local_now"] == "2026-02-17T00:00:15+08:00"
    assert demo.ok("GET", "/v1/sandbox/clock", key="ICBC")["now"] == "2026-02-16T16:00:15+00:00"


def test_running_clock_moves_on_from_where_it_was_set(demo):
    got = demo.ok(
        "PUT", "/v1/sandbox/clock", json={"now": "2030-01-01T00:00:00+00:00", "fixed": False}
    )
    assert got["fixed"] is False and got["now"].startswith("2030-01-01T00:00")
    later = demo.ok("GET", "/v1/sandbox/clock")["now"]
    assert later >= got["now"]


def test_clock_refuses_bad_input(demo):
    for body, field in [
        ({"now": "2026-01-01T00:00:00"}, "now"),  # no offset
        ({"now": "yesterday"}, "now"),
        ({}, "now"),
    ]:
        r = demo.call("PUT", "/v1/sandbox/clock", json=body)
        assert r.status_code == 422 and field in r.get_json()["errors"], body
    for body in ({"seconds": -1}, {"seconds": 1.5}, {"seconds": "60"}):
        r = demo.post("/v1/sandbox/clock/advance", body)
        assert r.status_code == 422 and "seconds" in r.get_json()["errors"], body
