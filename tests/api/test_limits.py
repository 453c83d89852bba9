"""Wallet-class limits at, just below and just above each edge, with the
white-paper figures of classes 2 and 4 (default profile), through the API."""

from __future__ import annotations

import pytest


@pytest.fixture
def lim(sandbox):
    sandbox.operator("ICBC", reserve="5000000.00", issue="3000000.00")
    sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-03-02T10:00:00+08:00"})
    sandbox.rich = sandbox.wallet("ICBC", 1, fund="1000000.00")
    sandbox.sink = sandbox.wallet("ICBC", 1)
    return sandbox


def pay(sb, src, dst, amount, key="ICBC"):
    return sb.post(
        "/v1/transfers", {"from_wallet": src, "to_wallet": dst, "amount": amount}, key=key
    )


def refused(r, limit):
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == "limit_exceeded", body
    assert body["limit"] == limit, body
    return body


def test_class4_single_payment_edge(lim):
    w = lim.wallet("ICBC", 4, fund="10000.00")
    assert pay(lim, w, lim.sink, "1999.99").status_code == 201
    assert pay(lim, w, lim.sink, "2000.00").status_code == 201
    body = refused(pay(lim, w, lim.sink, "2000.01"), "single_payment")
    assert (body["cap"], body["would_be"], body["wallet_id"]) == ("2000.00", "2000.01", w)


def test_class4_balance_cap_on_funding_and_on_the_payee_side(lim):
    w = lim.wallet("ICBC", 4, fund="9999.99")
    assert lim.ok("POST", f"/v1/wallets/{w}/fund", json={"amount": "0.01"}, key="ICBC")
    body = refused(lim.post(f"/v1/wallets/{w}/fund", {"amount": "0.01"}, key="ICBC"), "balance_cap")
    assert (body["cap"], body["would_be"]) == ("10000.00", "10000.01")
    refused(pay(lim, lim.rich, w, "0.01"), "balance_cap")  # a payment into it, too
    assert lim.balance(w) == "10000.00"


def test_class4_daily_cap_and_the_utc8_midnight(lim):
    w = lim.wallet("ICBC", 4, fund="10000.00")
    lim.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-03-02T23:59:58+08:00"})
    for amount in ("2000.00", "2000.00", "999.99"):
        assert pay(lim, w, lim.sink, amount).status_code == 201
    assert pay(lim, w, lim.sink, "0.01").status_code == 201  # exactly 5,000.00 today
    body = refused(pay(lim, w, lim.sink, "0.01"), "daily_out")
    assert (body["cap"], body["would_be"]) == ("5000.00", "5000.01")
    used = lim.ok("GET", f"/v1/wallets/{w}/limits", key="ICBC")
    assert used["used_today"] == "5000.00" and used["day"] == "2026-03-02"
    # 23:59:59 in Macau is still the same day; 00:00:00 is the next one (16:00 UTC).
    lim.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 1}, status=200)
    refused(pay(lim, w, lim.sink, "0.01"), "daily_out")
    lim.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 1}, status=200)
    assert lim.ok("GET", "/v1/sandbox/clock")["now"] == "2026-03-02T16:00:00+00:00"
    assert pay(lim, w, lim.sink, "2000.00").status_code == 201
    assert lim.ok("GET", f"/v1/wallets/{w}/limits", key="ICBC")["used_today"] == "2000.00"


def test_class4_annual_cap_and_the_new_year_at_utc8(lim):
    w = lim.wallet("ICBC", 4)
    lim.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-12-21T12:00:00+08:00"})
    for day in range(10):  # Dec 21 .. Dec 30: 10 x 5,000.00 = 50,000.00, the annual cap exactly
        lim.ok("POST", f"/v1/wallets/{w}/fund", json={"amount": "5000.00"}, key="ICBC")
        for amount in ("2000.00", "2000.00", "1000.00"):
            assert pay(lim, w, lim.sink, amount).status_code == 201, day
        lim.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 86400}, status=200)
    # Dec 31: nothing paid today, but the year is used up.
    lim.ok("POST", f"/v1/wallets/{w}/fund", json={"amount": "10.00"}, key="ICBC")
    body = refused(pay(lim, w, lim.sink, "0.01"), "annual_out")
    assert (body["cap"], body["would_be"]) == ("50000.00", "50000.01")
    lim.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-12-31T23:59:59.999999+08:00"})
    refused(pay(lim, w, lim.sink, "0.01"), "annual_out")
    lim.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-01-01T00:00:00+08:00"})
    assert pay(lim, w, lim.sink, "0.01").status_code == 201
    used = lim.ok("GET", f"/v1/wallets/{w}/limits", key="ICBC")
    assert (used["used_today"], used["used_this_year"]) == ("0.01", "0.01")


def test_class2_white_paper_figures(lim):
    w = lim.wallet("ICBC", 2)
    lim.ok("POST", f"/v1/wallets/{w}/fund", json={"amount": "499999.99"}, key="ICBC")
    lim.ok("POST", f"/v1/wallets/{w}/fund", json={"amount": "0.01"}, key="ICBC")
    refused(lim.post(f"/v1/wallets/{w}/fund", {"amount": "0.01"}, key="ICBC"), "balance_cap")
    assert pay(lim, w, lim.sink, "49999.99").status_code == 201
    refused(pay(lim, w, lim.sink, "50000.01"), "single_payment")
    assert pay(lim, w, lim.sink, "50000.00").status_code == 201
    body = refused(pay(lim, w, lim.sink, "0.02"), "daily_out")
    assert (body["cap"], body["would_be"]) == ("100000.00", "100000.01")
    assert pay(lim, w, lim.sink, "0.01").status_code == 201  # exactly 100,000.00
    lim.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 86400}, status=200)
    for _ in range(4):  # class 2 has no annual cap
        assert pay(lim, w, lim.sink, "50000.00").status_code == 201
        lim.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 86400}, status=200)


def test_holds_count_at_once_and_voids_give_back(lim):
    w = lim.wallet("ICBC", 4, fund="10000.00")
    refused(
        lim.post(
            "/v1/holds", {"from_wallet": w, "to_wallet": lim.sink, "amount": "2000.01"}, key="ICBC"
        ),
        "single_payment",
    )
    h1 = lim.ok(
        "POST",
        "/v1/holds",
        json={"from_wallet": w, "to_wallet": lim.sink, "amount": "2000.00"},
        key="ICBC",
    )
    h2 = lim.ok(
        "POST",
        "/v1/holds",
        json={"from_wallet": w, "to_wallet": lim.sink, "amount": "2000.00"},
        key="ICBC",
    )
    assert pay(lim, w, lim.sink, "1000.00").status_code == 201
    refused(pay(lim, w, lim.sink, "0.01"), "daily_out")
    lim.ok("POST", f"/v1/holds/{h1['id']}/void", key="ICBC", status=200)
    assert pay(lim, w, lim.sink, "2000.00").status_code == 201  # the void gave 2,000.00 back
    lim.ok(
        "POST", f"/v1/holds/{h2['id']}/capture", json={"amount": "500.00"}, key="ICBC", status=200
    )
    assert lim.ok("GET", f"/v1/wallets/{w}/limits", key="ICBC")["used_today"] == "3500.00"


def test_batches_respect_limits_item_by_item(lim):
    w = lim.wallet("ICBC", 4, fund="10000.00")
    items = [
        {"id": f"b{i}", "from_wallet": w, "to_wallet": lim.sink, "amount": a}
        for i, a in enumerate(["2000.00", "2000.01", "2000.00", "1000.00", "0.01"])
    ]
    out = lim.ok("POST", "/v1/transfers/batch", json={"transfers": items}, key="ICBC", status=200)
    assert [r["status"] for r in out["results"]] == [
        "posted",
        "refused",
        "posted",
        "posted",
        "refused",
    ]
    assert [r["code"] for r in out["results"]][1::3] == ["limit_exceeded", "limit_exceeded"]
    assert lim.balance(w) == "5000.00"


def test_operator_lowers_limits_never_raises_them(lim):
    w = lim.wallet("ICBC", 4, fund="5000.00")
    got = lim.ok(
        "PUT",
        "/v1/operators/ICBC/limits/4",
        json={"single_payment": "1000.00"},
        key="ICBC",
        status=200,
    )
    assert (
        got["effective"]["single_payment"] == "1000.00"
        and got["profile"]["single_payment"] == "2000.00"
    )
    assert got["effective"]["daily_out"] == "5000.00"
    refused(pay(lim, w, lim.sink, "1000.01"), "single_payment")
    assert pay(lim, w, lim.sink, "1000.00").status_code == 201
    r = lim.call("PUT", "/v1/operators/ICBC/limits/4", "ICBC", json={"single_payment": "2000.01"})
    assert r.status_code == 422 and "single_payment" in r.get_json()["errors"]
    r = lim.call("PUT", "/v1/operators/ICBC/limits/9", "ICBC", json={})
    assert r.status_code == 404
    lim.ok(
        "PUT", "/v1/operators/ICBC/limits/4", json={}, key="ICBC", status=200
    )  # back to the profile's
    assert pay(lim, w, lim.sink, "2000.00").status_code == 201
    table = lim.ok("GET", "/v1/operators/ICBC/limits", key="central_bank")
    assert table["profile"] == "default" and [c["wallet_class"] for c in table["classes"]] == [
        1,
        2,
        3,
        4,
    ]
    assert table["classes"][0]["effective"] == {
        "balance_cap": None,
        "single_payment": None,
        "daily_out": None,
        "annual_out": None,
    }


def test_class_upgrade_changes_limits_from_then_on(lim):
    w = lim.wallet("ICBC", 4, fund="5000.00")
    refused(pay(lim, w, lim.sink, "2000.01"), "single_payment")
    r = lim.get(f"/v1/wallets/{w}", key="ICBC")
    etag = r.headers["ETag"]
    r = lim.call(
        "PATCH", f"/v1/wallets/{w}", "ICBC", json={"wallet_class": 2}, headers={"If-Match": etag}
    )
    assert r.status_code == 422 and "birth_date" in r.get_json()["errors"]
    r = lim.call(
        "PATCH",
        f"/v1/wallets/{w}",
        "ICBC",
        json={"wallet_class": 2, "birth_date": "1990-01-01"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200 and r.get_json()["wallet_class"] == 2 and r.headers["ETag"] != etag
    assert pay(lim, w, lim.sink, "2000.01").status_code == 201


# ---- an operator's own limits: each one enforced, for its wallets alone ------------


def limits_of(sb, w, key="ICBC"):
    return sb.ok("GET", f"/v1/wallets/{w}/limits", key=key)


def test_an_operators_lowered_balance_daily_and_annual_caps_are_enforced(lim):
    lowered = {"balance_cap": "3000.00", "daily_out": "1500.00", "annual_out": "2500.00"}
    got = lim.ok("PUT", "/v1/operators/ICBC/limits/4", json=lowered, key="ICBC", status=200)
    assert got["effective"] == {**lowered, "single_payment": "2000.00"}
    w = lim.wallet("ICBC", 4, fund="3000.00")
    assert limits_of(lim, w)["limits"] == got["effective"]
    body = refused(lim.post(f"/v1/wallets/{w}/fund", {"amount": "0.01"}, key="ICBC"), "balance_cap")
    assert (body["cap"], body["would_be"], body["wallet_id"]) == ("3000.00", "3000.01", w)
    assert body["detail"] == f"wallet {w}: balance cap of 3000.00 would be exceeded (3000.01)"
    # The first payment of the day and year may use the whole daily cap.
    assert pay(lim, w, lim.sink, "1500.00").status_code == 201
    body = refused(pay(lim, w, lim.sink, "0.01"), "daily_out")
    assert (body["cap"], body["would_be"]) == ("1500.00", "1500.01")
    assert body["detail"] == f"wallet {w}: daily out of 1500.00 would be exceeded (1500.01)"
    lim.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 86400}, status=200)
    assert pay(lim, w, lim.sink, "1000.00").status_code == 201  # 2,500.00 this year: the cap
    body = refused(pay(lim, w, lim.sink, "0.01"), "annual_out")
    assert (body["cap"], body["would_be"]) == ("2500.00", "2500.01")
    used = limits_of(lim, w)
    assert (used["used_today"], used["used_this_year"]) == ("1000.00", "2500.00")
    assert lim.balance(w) == "500.00"


def test_a_first_payment_may_use_the_whole_annual_cap(lim):
    lim.ok(
        "PUT", "/v1/operators/ICBC/limits/4", json={"annual_out": "1000.00"}, key="ICBC", status=200
    )
    w = lim.wallet("ICBC", 4, fund="2000.00")
    assert pay(lim, w, lim.sink, "1000.00").status_code == 201
    body = refused(pay(lim, w, lim.sink, "0.01"), "annual_out")
    assert (body["cap"], body["would_be"]) == ("1000.00", "1000.01")


def test_an_operator_may_set_a_limit_equal_to_the_profiles(lim):
    same = {"single_payment": "2000.00", "balance_cap": "10000.00"}
    got = lim.ok("PUT", "/v1/operators/ICBC/limits/4", json=same, key="ICBC", status=200)
    assert got["effective"]["single_payment"] == "2000.00"
    assert got["effective"]["balance_cap"] == "10000.00"
    r = lim.call("PUT", "/v1/operators/ICBC/limits/4", "ICBC", json={"daily_out": "5000.01"})
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == "validation_failed"
    assert body["errors"] == {"daily_out": ["must not exceed the profile's 5000.00"]}
    assert body["detail"] == "an operator may only lower the profile's limits"


def stored_overrides(sb) -> list[tuple]:
    with sb.db.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT wallet_class, balance_cap, single_payment, daily_out, annual_out"
            " FROM operator_limits ORDER BY operator_id, wallet_class"
        ).all()


def test_an_operator_sets_all_four_limits_of_a_class_or_none(lim):
    four = {
        "balance_cap": "9000.00",
        "single_payment": "1000.00",
        "daily_out": "4000.00",
        "annual_out": "40000.00",
    }
    got = lim.ok("PUT", "/v1/operators/ICBC/limits/4", json=four, key="ICBC", status=200)
    assert got["effective"] == four
    assert stored_overrides(lim) == [(4, 900000, 100000, 400000, 4000000)]
    w = lim.wallet("ICBC", 4, fund="2000.00")
    refused(pay(lim, w, lim.sink, "1000.01"), "single_payment")
    # Back to the profile's: no row is kept for an operator that lowers nothing.
    got = lim.ok("PUT", "/v1/operators/ICBC/limits/4", json={}, key="ICBC", status=200)
    assert got["effective"] == got["profile"]
    assert stored_overrides(lim) == []


def test_one_operators_limits_leave_the_others_alone(lim):
    lim.operator("BOC", reserve="100000.00", issue="50000.00")
    lim.ok(
        "PUT",
        "/v1/operators/BOC/limits/4",
        json={"single_payment": "500.00"},
        key="BOC",
        status=200,
    )
    for wallet_class, single in ((3, "4000.00"), (4, "1000.00"), (4, "900.00")):
        lim.ok(
            "PUT",
            f"/v1/operators/ICBC/limits/{wallet_class}",
            json={"single_payment": single},
            key="ICBC",
            status=200,
        )
    boc = lim.ok("GET", "/v1/operators/BOC/limits", key="BOC")["classes"]
    assert [c["effective"]["single_payment"] for c in boc] == [
        None,
        "50000.00",
        "5000.00",
        "500.00",
    ]
    icbc = lim.ok("GET", "/v1/operators/ICBC/limits", key="ICBC")["classes"]
    assert [c["effective"]["single_payment"] for c in icbc] == [
        None,
        "50000.00",
        "4000.00",
        "900.00",
    ]
    b, boc_sink = lim.wallet("BOC", 4, fund="1000.00"), lim.wallet("BOC", 1)
    assert limits_of(lim, b, key="BOC")["limits"]["single_payment"] == "500.00"
    body = refused(pay(lim, b, boc_sink, "500.01", key="BOC"), "single_payment")
    assert (body["cap"], body["wallet_id"]) == ("500.00", b)
    w = lim.wallet("ICBC", 4, fund="2000.00")
    assert limits_of(lim, w)["limits"]["single_payment"] == "900.00"
    assert pay(lim, w, lim.sink, "900.00").status_code == 201
    refused(pay(lim, w, lim.sink, "900.01"), "single_payment")


def test_a_failed_linked_chain_gives_its_usage_back(lim):
    w = lim.wallet("ICBC", 4, fund="10000.00")
    items = [
        {"id": "c0", "from_wallet": w, "to_wallet": lim.sink, "amount": "2000.00", "linked": True},
        {"id": "c1", "from_wallet": w, "to_wallet": lim.sink, "amount": "2000.01"},
        {"id": "p0", "from_wallet": w, "to_wallet": lim.sink, "amount": "2000.00"},
        {"id": "p1", "from_wallet": w, "to_wallet": lim.sink, "amount": "2000.00"},
        {"id": "p2", "from_wallet": w, "to_wallet": lim.sink, "amount": "1000.00"},
        {"id": "p3", "from_wallet": w, "to_wallet": lim.sink, "amount": "0.01"},
    ]
    out = lim.ok("POST", "/v1/transfers/batch", json={"transfers": items}, key="ICBC", status=200)
    assert [(r["status"], r.get("code")) for r in out["results"]] == [
        ("refused", "linked_transfer_failed"),
        ("refused", "limit_exceeded"),
        ("posted", None),
        ("posted", None),
        ("posted", None),  # 5,000.00 today: the chain's 2,000.00 was given back
        ("refused", "limit_exceeded"),
    ]
    used = limits_of(lim, w)
    assert (used["used_today"], used["used_this_year"]) == ("5000.00", "5000.00")
    assert lim.balance(w) == "5000.00"
    # A wallet whose only payments were a failed chain has no usage stored at all.
    other = lim.wallet("ICBC", 4, fund="1000.00")
    items = [
        {
            "id": "o0",
            "from_wallet": other,
            "to_wallet": lim.sink,
            "amount": "10.00",
            "linked": True,
        },
        {"id": "o1", "from_wallet": other, "to_wallet": lim.sink, "amount": "2000.01"},
        # Another wallet's payment posts in the same batch: the usage is written.
        {"id": "r0", "from_wallet": lim.rich, "to_wallet": lim.sink, "amount": "1.00"},
    ]
    out = lim.ok("POST", "/v1/transfers/batch", json={"transfers": items}, key="ICBC", status=200)
    assert [r["status"] for r in out["results"]] == ["refused", "refused", "posted"]
    with lim.db.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT wallet_id, period, amount_out FROM wallet_usage ORDER BY wallet_id, period"
        ).all()
    assert sorted(stored) == sorted(
        [(w, "day", 500000), (w, "year", 500000), (lim.rich, "day", 100), (lim.rich, "year", 100)]
    )
    # The stored usage is what posted: tomorrow the day starts at zero, the year does not.
    lim.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 86400}, status=200)
    used = limits_of(lim, w)
    assert (used["used_today"], used["used_this_year"]) == ("0.00", "5000.00")


def test_a_capture_into_a_wallet_at_its_balance_cap_is_refused(lim):
    payee = lim.wallet("ICBC", 4, fund="9000.00")
    hold = lim.ok(
        "POST",
        "/v1/holds",
        json={"from_wallet": lim.rich, "to_wallet": payee, "amount": "1000.01"},
        key="ICBC",
    )
    r = lim.post(f"/v1/holds/{hold['id']}/capture", {"amount": "1000.01"}, key="ICBC")
    body = refused(r, "balance_cap")
    assert (body["wallet_id"], body["cap"], body["would_be"]) == (payee, "10000.00", "10000.01")
    assert lim.balance(payee) == "9000.00"
    r = lim.post(f"/v1/holds/{hold['id']}/capture", {"amount": "1000.00"}, key="ICBC")
    assert r.status_code == 200 and lim.balance(payee) == "10000.00"


def test_the_balance_cap_counts_the_wallets_open_holds(lim):
    w = lim.wallet("ICBC", 4, fund="9000.00")
    hold = lim.ok(
        "POST",
        "/v1/holds",
        json={"from_wallet": w, "to_wallet": lim.sink, "amount": "2000.00"},
        key="ICBC",
    )
    assert lim.ok("GET", f"/v1/wallets/{w}/balance", key="ICBC")["held"] == "2000.00"
    lim.ok("POST", f"/v1/wallets/{w}/fund", json={"amount": "1000.00"}, key="ICBC")
    body = refused(lim.post(f"/v1/wallets/{w}/fund", {"amount": "0.01"}, key="ICBC"), "balance_cap")
    assert (body["cap"], body["would_be"]) == ("10000.00", "10000.01")
    # Voided, the hold's funds are the wallet's again: still 10,000.00 in all.
    lim.ok("POST", f"/v1/holds/{hold['id']}/void", key="ICBC", status=200)
    refused(lim.post(f"/v1/wallets/{w}/fund", {"amount": "0.01"}, key="ICBC"), "balance_cap")
    assert lim.balance(w) == "10000.00"


def test_limits_lowered_below_todays_usage_never_block_a_capture_or_a_void(lim):
    w = lim.wallet("ICBC", 4, fund="9000.00")
    hold = {
        amount: lim.ok(
            "POST",
            "/v1/holds",
            json={"from_wallet": w, "to_wallet": lim.sink, "amount": amount},
            key="ICBC",
        )["id"]
        for amount in ("1500.00", "1000.00")
    }
    lowered = {"daily_out": "1000.00", "balance_cap": "5000.00"}
    lim.ok("PUT", "/v1/operators/ICBC/limits/4", json=lowered, key="ICBC", status=200)
    # 2,500.00 counted today, above the new daily cap; 9,000.00 in all, above the new balance cap.
    h = lim.ok("POST", f"/v1/holds/{hold['1500.00']}/capture", key="ICBC", status=200)
    assert (h["status"], h["captured"]) == ("captured", "1500.00")
    h = lim.ok("POST", f"/v1/holds/{hold['1000.00']}/void", key="ICBC", status=200)
    assert h["status"] == "voided"
    assert lim.balance(w) == "7500.00"
    used = limits_of(lim, w)
    assert (used["used_today"], used["used_this_year"]) == ("1500.00", "1500.00")
    body = refused(pay(lim, w, lim.sink, "0.01"), "daily_out")
    assert (body["cap"], body["would_be"]) == ("1000.00", "1500.01")


def test_a_payment_between_capped_wallets_checks_the_payees_cap(lim):
    payer = lim.wallet("ICBC", 4, fund="5000.00")
    payee = lim.wallet("ICBC", 4, fund="9000.00")
    body = refused(pay(lim, payer, payee, "1000.01"), "balance_cap")
    assert (body["wallet_id"], body["would_be"]) == (payee, "10000.01")
    assert pay(lim, payer, payee, "1000.00").status_code == 201
    assert (lim.balance(payer), lim.balance(payee)) == ("4000.00", "10000.00")


def test_setting_limits_tells_the_central_bank_and_the_operator_alone(lim):
    lim.operator("BOC", reserve="100000.00", issue=None)
    start = lim.ok("GET", "/v1/events", query_string={"limit": 500})["items"][-1]["id"]
    lim.ok(
        "PUT",
        "/v1/operators/ICBC/limits/4",
        json={"single_payment": "1000.00", "balance_cap": "9000.00"},
        key="ICBC",
        status=200,
    )

    def seen(key):
        page = lim.ok("GET", "/v1/events", key=key, query_string={"after": start, "limit": 500})
        return [e for e in page["items"] if e["type"] == "operator.limits_set"]

    (event,) = seen("admin")
    # Its data is the operator's limits as their GET renders them, the lowered ones included.
    assert event["data"] == lim.ok("GET", "/v1/operators/ICBC/limits", key="ICBC")
    assert event["data"]["operator"] == "ICBC" and event["data"]["profile"] == "default"
    class4 = event["data"]["classes"][3]
    assert (class4["wallet_class"], class4["effective"]["single_payment"]) == (4, "1000.00")
    assert class4["profile"]["balance_cap"] == "10000.00"
    assert (seen("central_bank"), seen("ICBC"), seen("BOC")) == ([event], [event], [])


def test_a_batch_counts_each_item_against_the_year_used_before_it(lim):
    lim.ok(
        "PUT", "/v1/operators/ICBC/limits/4", json={"annual_out": "1000.00"}, key="ICBC", status=200
    )
    w = lim.wallet("ICBC", 4, fund="2000.00")
    assert pay(lim, w, lim.sink, "300.00").status_code == 201
    items = [
        {"id": f"y{i}", "from_wallet": w, "to_wallet": lim.sink, "amount": a}
        for i, a in enumerate(["600.00", "200.00", "100.00"])
    ]
    out = lim.ok("POST", "/v1/transfers/batch", json={"transfers": items}, key="ICBC", status=200)
    assert [(r["status"], r.get("code")) for r in out["results"]] == [
        ("posted", None),
        ("refused", "limit_exceeded"),  # 300.00 + 600.00 + 200.00 > 1,000.00
        ("posted", None),  # exactly 1,000.00 this year
    ]
    # The batch's only account of which cap: the refusal's detail, with the figures.
    assert out["results"][1]["detail"] == (
        f"wallet {w}: annual out of 1000.00 would be exceeded (1100.00)"
    )
    used = limits_of(lim, w)
    assert (used["used_today"], used["used_this_year"]) == ("1000.00", "1000.00")
    assert lim.balance(w) == "1000.00"
