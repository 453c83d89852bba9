"""Settlement between operators through the API: a day under deferred net
settlement among three operators, with hand-computed figures."""

from __future__ import annotations

import sqlalchemy as sa

from wallets.core.errors import DomainError
from wallets.tier1 import settlement

DAY = [  # (payer, payee, amount)
    ("i1", "b1", "1000.00"),
    ("b1", "m1", "300.00"),
    ("m1", "i1", "200.00"),
    ("i1", "m1", "50.00"),
    ("b1", "i1", "25.50"),
    ("i1", "i2", "100.00"),  # within ICBC: not in the window
]


def setup_day(sb, model: str):
    for code in ("ICBC", "BOC", "BOCMO"):
        sb.operator(code, reserve="1000000.00", issue="500000.00")
    if model == "deferred_net":
        got = sb.ok(
            "PUT",
            "/v1/settlement/settings",
            json={"model": "deferred_net"},
            key="central_bank",
            status=200,
        )
        assert got["model"] == "deferred_net"
    sb.w = {
        "i1": sb.wallet("ICBC", 1, fund="10000.00"),
        "i2": sb.wallet("ICBC", 1),
        "b1": sb.wallet("BOC", 1, fund="5000.00"),
        "m1": sb.wallet("BOCMO", 1, fund="5000.00", region="MO"),
    }
    key_of = {"i": "ICBC", "b": "BOC", "m": "BOCMO"}
    for payer, payee, amount in DAY:
        sb.ok(
            "POST",
            "/v1/transfers",
            json={"from_wallet": sb.w[payer], "to_wallet": sb.w[payee], "amount": amount},
            key=key_of[payer[0]],
        )


def positions(sb):
    return {c: sb.ok("GET", f"/v1/operators/{c}")["position"] for c in ("ICBC", "BOC", "BOCMO")}


def balances(sb):
    return {name: sb.balance(w) for name, w in sb.w.items()}


def test_a_day_under_deferred_net_settlement(sandbox):
    setup_day(sandbox, "deferred_net")
    # Before the close: tier-1 positions have not moved; each operator's
    # difference is exactly minus its net position in the window.
    assert positions(sandbox) == {"ICBC": "500000.00", "BOC": "500000.00", "BOCMO": "500000.00"}
    window = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")
    assert window["status"] == "OPEN"
    by_op = {p["operator"]: p for p in window["positions"]}
    assert {
        op: (p["sent"], p["received"], p["net"], p["peak_debit"]) for op, p in by_op.items()
    } == {
        "BOC": ("325.50", "1000.00", "674.50", "0.00"),
        "BOCMO": ("200.00", "350.00", "150.00", "0.00"),
        "ICBC": ("1050.00", "225.50", "-824.50", "1000.00"),
    }
    assert (
        by_op["ICBC"]["net_debit_cap"] == "500000.00"
        and by_op["ICBC"]["utilisation_percent"] == "0.16"
    )
    icbc = sandbox.ok("GET", "/v1/operators/ICBC", key="ICBC")
    assert icbc["open_window_net"] == "-824.50" and icbc["reconciled"] is True
    report = sandbox.ok("GET", "/v1/audit/reconciliation", key="auditor")
    assert report["ok"], report
    check4 = report["checks"][3]["figures"]
    assert (
        check4["ICBC"]["difference"] == "824.50" and check4["ICBC"]["open_window_net"] == "-824.50"
    )

    closed = sandbox.ok(
        "POST", "/v1/settlement/windows/current/close", key="central_bank", status=200
    )
    assert closed["status"] == "SETTLED" and closed["settlement_transfer_id"]
    assert positions(sandbox) == {"ICBC": "499175.50", "BOC": "500674.50", "BOCMO": "500150.00"}
    stored = sandbox.ok("GET", f"/v1/settlement/windows/{closed['id']}/report", key="auditor")
    assert stored["operators"] == [
        {
            "operator": "BOC",
            "sent": "325.50",
            "received": "1000.00",
            "net": "674.50",
            "net_debit_cap": "500000.00",
            "peak_debit": "0.00",
            "peak_utilisation_percent": "0.00",
        },
        {
            "operator": "BOCMO",
            "sent": "200.00",
            "received": "350.00",
            "net": "150.00",
            "net_debit_cap": "500000.00",
            "peak_debit": "0.00",
            "peak_utilisation_percent": "0.00",
        },
        {
            "operator": "ICBC",
            "sent": "1050.00",
            "received": "225.50",
            "net": "-824.50",
            "net_debit_cap": "500000.00",
            "peak_debit": "1000.00",
            "peak_utilisation_percent": "0.20",
        },
    ]
    assert stored["tier1_moves"] == [
        {
            "debit_account": "OP:ICBC:POSITION",
            "credit_account": "CB:SETTLEMENT",
            "amount": "824.50",
        },
        {"debit_account": "CB:SETTLEMENT", "credit_account": "OP:BOC:POSITION", "amount": "674.50"},
        {
            "debit_account": "CB:SETTLEMENT",
            "credit_account": "OP:BOCMO:POSITION",
            "amount": "150.00",
        },
    ]
    # The report rebuilt from the journal equals the stored one.
    from wallets.tier1 import settlement

    assert sandbox.db.read(settlement.build_report, closed["id"]) == stored
    csv = sandbox.get(f"/v1/settlement/windows/{closed['id']}/report?format=csv", key="auditor")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0].startswith("window_id,operator,sent") and lines[3].startswith(
        f"{closed['id']},ICBC,1050.00,225.50,-824.50"
    )
    # A new window is open, empty; reconciliation is exact again.
    nxt = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")
    assert nxt["id"] != closed["id"] and all(p["net"] == "0.00" for p in nxt["positions"])
    assert sandbox.ok("GET", "/v1/audit/reconciliation", key="auditor")["ok"]
    listed = sandbox.ok("GET", "/v1/settlement/windows", key="auditor")["items"]
    assert [w["status"] for w in listed] == ["SETTLED", "OPEN"]


def test_the_same_day_under_gross_ends_the_same(another_sandbox):
    gross, deferred = another_sandbox(), another_sandbox()
    setup_day(gross, "gross")
    setup_day(deferred, "deferred_net")
    deferred.ok("POST", "/v1/settlement/windows/current/close", key="central_bank", status=200)
    assert balances(gross) == balances(deferred)
    assert (
        positions(gross)
        == positions(deferred)
        == {"ICBC": "499175.50", "BOC": "500674.50", "BOCMO": "500150.00"}
    )
    assert (
        gross.get("/v1/settlement/windows/current", key="central_bank").get_json()["code"]
        == "no_open_window"
    )


def _deferred_with_cap(sandbox, fund: str, cap: str):
    """ICBC and BOC under deferred net settlement, a funded wallet at each, and
    ICBC's net debit cap set by the central bank; the wallets and the answer."""
    for code in ("ICBC", "BOC"):
        sandbox.operator(code, reserve="1000000.00", issue="500000.00")
    sandbox.ok(
        "PUT",
        "/v1/settlement/settings",
        json={"model": "deferred_net"},
        key="central_bank",
        status=200,
    )
    i1, b1 = sandbox.wallet("ICBC", 1, fund=fund), sandbox.wallet("BOC", 1, fund=fund)
    got = sandbox.ok(
        "PUT",
        "/v1/settlement/operators/ICBC/net-debit-cap",
        json={"net_debit_cap": cap},
        key="central_bank",
        status=200,
    )
    return i1, b1, got


def test_a_zero_net_debit_cap_lets_an_operator_pay_out_only_what_it_received(sandbox):
    """The central bank may set a cap of 0.00 (the derived cap is 0.00 too when
    the free reserve is nil): the operator may not owe at all."""
    i1, b1, got = _deferred_with_cap(sandbox, "100.00", "0.00")
    assert (got["net_debit_cap"], got["utilisation_percent"]) == ("0.00", None)

    def pay(src, dst, amount, key):
        return sandbox.post(
            "/v1/transfers", {"from_wallet": src, "to_wallet": dst, "amount": amount}, key=key
        )

    r = pay(i1, b1, "0.01", "ICBC")
    assert r.status_code == 422 and r.get_json()["code"] == "operator_net_debit_cap_exceeded"
    assert pay(b1, i1, "30.00", "BOC").status_code == 201
    assert pay(i1, b1, "30.00", "ICBC").status_code == 201  # what it received, no more
    r = pay(i1, b1, "0.01", "ICBC")
    assert r.status_code == 422 and r.get_json()["would_be"] == "0.01"
    # A cap of 0.00 has no threshold to pass: no alert, whatever moved.
    assert sandbox.ok("GET", "/v1/alerts?type=ndc_threshold", key="auditor")["items"] == []
    # A cap of one fen: owing it is owing all of it.
    sandbox.ok(
        "PUT",
        "/v1/settlement/operators/ICBC/net-debit-cap",
        json={"net_debit_cap": "0.01"},
        key="central_bank",
        status=200,
    )
    assert pay(i1, b1, "0.01", "ICBC").status_code == 201
    (alert,) = sandbox.ok("GET", "/v1/alerts?type=ndc_threshold", key="auditor")["items"]
    assert (alert["evidence"]["net_debit"], alert["evidence"]["utilisation_percent"]) == (
        "0.01",
        "100.00",
    )


def test_net_debit_cap_refuses_and_receipts_make_room(sandbox):
    i1, b1, got = _deferred_with_cap(sandbox, "5000.00", "900.00")
    assert got["net_debit_cap"] == "900.00"

    def pay(src, dst, amount, key):
        return sandbox.post(
            "/v1/transfers", {"from_wallet": src, "to_wallet": dst, "amount": amount}, key=key
        )

    r = pay(i1, b1, "900.01", "ICBC")
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == "operator_net_debit_cap_exceeded"
    assert (body["operator"], body["net_debit_cap"], body["would_be"]) == (
        "ICBC",
        "900.00",
        "900.01",
    )
    assert pay(i1, b1, "719.99", "ICBC").status_code == 201
    assert sandbox.ok("GET", "/v1/alerts?type=ndc_threshold", key="central_bank")["items"] == []
    assert pay(i1, b1, "0.01", "ICBC").status_code == 201  # 720.00: 80 % of the cap
    alerts = sandbox.ok("GET", "/v1/alerts?type=ndc_threshold", key="central_bank")["items"]
    assert len(alerts) == 1 and alerts[0]["operator"] == "ICBC"
    window = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")
    assert alerts[0]["evidence"] == {
        "window_id": window["id"],
        "net_debit": "720.00",
        "net_debit_cap": "900.00",
        "utilisation_percent": "80.00",
        "threshold_percent": "80",
    }
    assert alerts[0]["summary"] == (
        f"ICBC's net debit in settlement window {window['id']} reached 720.00 of its 900.00 cap"
    )
    assert pay(i1, b1, "180.00", "ICBC").status_code == 201  # 900.00, the cap: no second alert
    assert len(sandbox.ok("GET", "/v1/alerts?type=ndc_threshold", key="auditor")["items"]) == 1
    assert pay(i1, b1, "0.01", "ICBC").get_json()["code"] == "operator_net_debit_cap_exceeded"
    assert pay(b1, i1, "100.00", "BOC").status_code == 201  # receipts lower ICBC's net debit
    assert pay(i1, b1, "100.00", "ICBC").status_code == 201
    view = sandbox.ok("GET", "/v1/operators/ICBC", key="central_bank")
    assert (view["open_window_net"], view["utilisation_percent"]) == ("-900.00", "100.00")
    # Holds are not interbank until captured; a capture counts against the cap.
    h = sandbox.ok(
        "POST", "/v1/holds", json={"from_wallet": i1, "to_wallet": b1, "amount": "5.00"}, key="ICBC"
    )
    r = sandbox.post(f"/v1/holds/{h['id']}/capture", {}, key="ICBC")
    assert r.get_json()["code"] == "operator_net_debit_cap_exceeded"
    sandbox.ok(
        "PUT",
        "/v1/settlement/operators/ICBC/net-debit-cap",
        json={"net_debit_cap": None},
        key="central_bank",
        status=200,
    )
    sandbox.ok("POST", f"/v1/holds/{h['id']}/capture", key="ICBC", status=200)
    # Refunds flow back through the window too.
    p = sandbox.ok("GET", f"/v1/transfers?wallet={b1}&limit=500", key="BOC")["items"][-1]
    sandbox.ok("POST", f"/v1/transfers/{p['id']}/refunds", json={"amount": "5.00"}, key="BOC")
    window = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")
    icbc = next(x for x in window["positions"] if x["operator"] == "ICBC")
    assert (icbc["sent"], icbc["received"], icbc["net"]) == ("1005.00", "105.00", "-900.00")


def test_model_switch_and_daily_cutoff(sandbox):
    for code in ("ICBC", "BOC"):
        sandbox.operator(code, reserve="1000000.00", issue="500000.00")
    sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-03-01T16:00:00+08:00"})
    sandbox.ok(
        "PUT",
        "/v1/settlement/settings",
        json={"model": "deferred_net", "cutoff": "17:00"},
        key="central_bank",
        status=200,
    )
    i1, b1 = sandbox.wallet("ICBC", 1, fund="500.00"), sandbox.wallet("BOC", 1)
    sandbox.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": i1, "to_wallet": b1, "amount": "120.00"},
        key="ICBC",
    )
    r = sandbox.call("PUT", "/v1/settlement/settings", "central_bank", json={"model": "gross"})
    assert r.status_code == 409 and r.get_json()["code"] == "settlement_window_has_activity"
    first = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")["id"]
    assert (r.get_json()["detail"], r.get_json()["window_id"]) == (
        f"window {first} has cross-operator transfers: close it first",
        first,
    )
    sandbox.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 2 * 3600 + 86400}, status=200)
    windows = sandbox.ok("GET", "/v1/settlement/windows", key="central_bank")["items"]
    # 17:00 on March 1 and on March 2 were passed: two windows closed, one open.
    assert [(w["status"], w["closed_at"]) for w in windows] == [
        ("SETTLED", "2027-03-01T09:00:00+00:00"),
        ("SETTLED", "2027-03-02T09:00:00+00:00"),
        ("OPEN", None),
    ]
    assert sandbox.ok("GET", "/v1/operators/BOC")["position"] == "500120.00"
    got = sandbox.ok(
        "PUT", "/v1/settlement/settings", json={"model": "gross"}, key="central_bank", status=200
    )
    assert got["model"] == "gross"
    assert sandbox.get("/v1/settlement/windows/current", key="central_bank").status_code == 409
    for body, field in [
        ({"model": "net"}, "model"),
        ({"cutoff": "25:00"}, "cutoff"),
        ({"ndc_alert_percent": "0"}, "ndc_alert_percent"),
    ]:
        r = sandbox.call("PUT", "/v1/settlement/settings", "central_bank", json=body)
        assert r.status_code == 422 and field in r.get_json()["errors"], body


def test_settings_are_checked_in_the_domain_too(sandbox):
    """What the CLI calls: the domain names the field of a bad setting itself."""
    for kwargs, field, message in [
        ({"cutoff": "25:00"}, "cutoff", "must be a local time HH:MM (UTC+8)"),
        ({"model": "net"}, "model", "must be one of gross, deferred_net"),
        (
            {"ndc_reserve_ratio": "100.5"},
            "ndc_reserve_ratio",
            f"must be {settlement.NDC_RESERVE_RATIO.description}",
        ),
    ]:
        try:
            sandbox.db.write(lambda tx, kw=kwargs: settlement.update_settings(tx, **kw))
        except DomainError as refused:
            assert refused.code == "validation_failed"
            assert refused.extra["errors"] == {field: [message]}
            assert refused.detail == f"{field}: {message}"
        else:
            raise AssertionError(f"{kwargs} was accepted")
    got = sandbox.ok(
        "PUT",
        "/v1/settlement/settings",
        json={"ndc_alert_percent": "50"},
        key="central_bank",
        status=200,
    )
    assert got["ndc_alert_percent"] == "50"
    assert (
        sandbox.ok("GET", "/v1/settlement/settings", key="central_bank")["ndc_alert_percent"]
        == "50"
    )


def test_windows_missing_unsettled_or_absent_are_refused_with_their_codes(sandbox):
    for code in ("ICBC", "BOC"):
        sandbox.operator(code, reserve="1000000.00", issue="500000.00")
    sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-03-01T10:00:00+08:00"})
    gross = "the sandbox settles gross: there are no windows"
    for method, path in [
        ("GET", "/v1/settlement/windows/current"),
        ("POST", "/v1/settlement/windows/current/close"),
    ]:
        r = sandbox.call(method, path, "central_bank")
        assert (r.status_code, r.get_json()["code"], r.get_json()["detail"]) == (
            409,
            "no_open_window",
            gross,
        ), path
    settings = {"model": "deferred_net"}
    sandbox.ok("PUT", "/v1/settlement/settings", json=settings, key="central_bank", status=200)
    cap = {"net_debit_cap": "1.00"}
    sandbox.ok(
        "PUT",
        "/v1/settlement/operators/ICBC/net-debit-cap",
        json=cap,
        key="central_bank",
        status=200,
    )
    idle = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")
    first = idle["id"]
    assert [
        (p["operator"], p["sent"], p["peak_debit"], p["net_debit_cap"], p["utilisation_percent"])
        for p in idle["positions"]
    ] == [("BOC", "0.00", "0.00", "500000.00", "0.00"), ("ICBC", "0.00", "0.00", "1.00", "0.00")]
    r = sandbox.get(f"/v1/settlement/windows/{first}/report", key="auditor")
    assert (r.status_code, r.get_json()["code"], r.get_json()["detail"]) == (
        409,
        "window_not_settled",
        f"window {first} is OPEN: no report yet",
    )
    for path in (
        f"/v1/settlement/windows/{first + 9}",
        f"/v1/settlement/windows/{first + 9}/report",
    ):
        r = sandbox.get(path, key="auditor")
        assert (r.status_code, r.get_json()["code"], r.get_json()["detail"]) == (
            404,
            "window_not_found",
            f"no settlement window {first + 9}",
        ), path
    # Back to gross with an empty window: it is settled with an empty report.
    sandbox.ok(
        "PUT", "/v1/settlement/settings", json={"model": "gross"}, key="central_bank", status=200
    )
    assert sandbox.ok("GET", f"/v1/settlement/windows/{first}/report", key="auditor") == {
        "window_id": first,
        "operators": [],
        "tier1_moves": [],
        "settlement_transfer_id": None,
    }
    given_up = sandbox.ok("GET", f"/v1/settlement/windows/{first}", key="auditor")
    assert (given_up["status"], given_up["closed_at"], given_up["settled_at"]) == (
        "SETTLED",
        "2027-03-01T02:00:00+00:00",
        "2027-03-01T02:00:00+00:00",
    )


def test_windows_are_listed_oldest_first_a_page_at_a_time(sandbox):
    for code in ("ICBC", "BOC"):
        sandbox.operator(code, reserve="1000000.00", issue="500000.00")
    settings = {"model": "deferred_net"}
    sandbox.ok("PUT", "/v1/settlement/settings", json=settings, key="central_bank", status=200)
    for _ in range(2):
        sandbox.ok("POST", "/v1/settlement/windows/current/close", key="central_bank", status=200)
    every = sandbox.ok("GET", "/v1/settlement/windows", key="auditor")["items"]
    ids = [w["id"] for w in every]
    assert ids == sorted(ids) and len(ids) == 3
    assert [w["status"] for w in every] == ["SETTLED", "SETTLED", "OPEN"]
    seen, after = [], None
    for _ in range(len(ids) + 1):  # a cursor that repeats its row fails, never hangs
        query = {"limit": 1, **({"after": after} if after else {})}
        page = sandbox.ok("GET", "/v1/settlement/windows", key="auditor", query_string=query)
        seen += [w["id"] for w in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == ids
    page = sandbox.ok("GET", f"/v1/settlement/windows?after={ids[0]}", key="auditor")
    assert [w["id"] for w in page["items"]] == ids[1:]


def test_the_ndc_alert_is_raised_once_per_operator_and_window_and_is_no_str(sandbox):
    i1, b1, _ = _deferred_with_cap(sandbox, "5000.00", "900.00")

    def pay(src, dst, amount, key):
        body = {"from_wallet": src, "to_wallet": dst, "amount": amount}
        sandbox.ok("POST", "/v1/transfers", json=body, key=key)

    def alerts():
        return sandbox.ok("GET", "/v1/alerts?type=ndc_threshold", key="central_bank")["items"]

    pay(i1, b1, "720.00", "ICBC")  # 80 % of the cap
    pay(b1, i1, "100.00", "BOC")  # back below the threshold
    pay(i1, b1, "100.00", "ICBC")  # past it again, in the same window
    (alert,) = alerts()
    assert (alert["operator"], alert["due_at"]) == ("ICBC", None)  # no STR is due
    window = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")["id"]
    sandbox.ok("POST", "/v1/settlement/windows/current/close", key="central_bank", status=200)
    # Each operator's own cap, as recorded at the close.
    report = sandbox.ok("GET", f"/v1/settlement/windows/{window}/report", key="auditor")
    assert {o["operator"]: o["net_debit_cap"] for o in report["operators"]} == {
        "BOC": "500000.00",
        "ICBC": "900.00",
    }
    pay(i1, b1, "720.00", "ICBC")  # the next window: its own alert
    assert sorted(a["evidence"]["window_id"] for a in alerts()) == [window, window + 1]
    pay(i1, b1, "1.00", "ICBC")  # the new window's row, updated: the old one's stays
    got = sandbox.ok("GET", f"/v1/settlement/windows/{window}", key="auditor")
    icbc = next(p for p in got["positions"] if p["operator"] == "ICBC")
    assert (icbc["sent"], icbc["received"]) == ("820.00", "100.00")
    # A cap changed later is the next close's: each window keeps the one of its own close.
    cap = {"net_debit_cap": "800.00"}
    sandbox.ok(
        "PUT",
        "/v1/settlement/operators/ICBC/net-debit-cap",
        json=cap,
        key="central_bank",
        status=200,
    )
    sandbox.ok("POST", "/v1/settlement/windows/current/close", key="central_bank", status=200)
    for w, expected in ((window, "900.00"), (window + 1, "800.00")):
        got = sandbox.ok("GET", f"/v1/settlement/windows/{w}", key="auditor")
        assert {p["operator"]: p["net_debit_cap"] for p in got["positions"]} == {
            "BOC": "500000.00",
            "ICBC": expected,
        }


def test_a_cutoff_closes_at_its_exact_instant_in_utc8_and_never_under_gross(sandbox):
    for code in ("ICBC", "BOC"):
        sandbox.operator(code, reserve="1000000.00", issue="500000.00")
    # Gross with a cut-off set: the clock passes it, nothing closes, nothing fails.
    sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-03-01T16:00:00+08:00"})
    body = {"cutoff": "17:00"}
    sandbox.ok("PUT", "/v1/settlement/settings", json=body, key="central_bank", status=200)
    sandbox.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 2 * 3600}, status=200)
    assert sandbox.ok("GET", "/v1/settlement/windows", key="auditor")["items"] == []
    # Deferred net, a cut-off at 01:00 (UTC+8): at 02:00 on March 2 (18:00 UTC on
    # March 1) the next one is 01:00 on March 3.
    body = {"model": "deferred_net", "cutoff": "01:00"}
    sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-03-02T02:00:00+08:00"})
    sandbox.ok("PUT", "/v1/settlement/settings", json=body, key="central_bank", status=200)
    sandbox.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 3600}, status=200)
    windows = sandbox.ok("GET", "/v1/settlement/windows", key="auditor")["items"]
    assert [w["status"] for w in windows] == ["OPEN"]
    # Exactly at the cut-off: the window closes then.
    sandbox.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 22 * 3600}, status=200)
    windows = sandbox.ok("GET", "/v1/settlement/windows", key="auditor")["items"]
    assert [(w["status"], w["closed_at"], w["settled_at"]) for w in windows] == [
        ("SETTLED", "2027-03-02T17:00:00+00:00", "2027-03-02T17:00:00+00:00"),
        ("OPEN", None, None),
    ]
    assert windows[1]["opened_at"] == "2027-03-02T17:00:00+00:00"  # the next opens then


def test_nets_of_zero_move_nothing_and_a_fen_moves_exactly_a_fen(sandbox):
    for code in ("ICBC", "BOC"):
        sandbox.operator(code, reserve="1000000.00", issue="500000.00")
    settings = {"model": "deferred_net"}
    sandbox.ok("PUT", "/v1/settlement/settings", json=settings, key="central_bank", status=200)
    i1, b1 = sandbox.wallet("ICBC", 1, fund="500.00"), sandbox.wallet("BOC", 1, fund="500.00")

    def pay(src, dst, amount, key):
        body = {"from_wallet": src, "to_wallet": dst, "amount": amount}
        sandbox.ok("POST", "/v1/transfers", json=body, key=key)

    def close():
        return sandbox.ok(
            "POST", "/v1/settlement/windows/current/close", key="central_bank", status=200
        )

    pay(i1, b1, "100.00", "ICBC")
    pay(b1, i1, "100.00", "BOC")
    even = close()
    assert even["settlement_transfer_id"] is None
    assert [p["operator"] for p in even["positions"]] == ["BOC", "ICBC"]  # by code
    report = sandbox.ok("GET", f"/v1/settlement/windows/{even['id']}/report", key="auditor")
    assert [(o["operator"], o["net"]) for o in report["operators"]] == [
        ("BOC", "0.00"),
        ("ICBC", "0.00"),
    ]
    assert report["tier1_moves"] == []
    cap = {"net_debit_cap": "1.00"}  # BOC only receives: a cap it does not use
    sandbox.ok(
        "PUT",
        "/v1/settlement/operators/BOC/net-debit-cap",
        json=cap,
        key="central_bank",
        status=200,
    )
    pay(i1, b1, "0.01", "ICBC")
    fen = close()
    report = sandbox.ok("GET", f"/v1/settlement/windows/{fen['id']}/report", key="auditor")
    # One operator only paid, the other only received: both are in the report.
    assert [
        (o["operator"], o["sent"], o["received"], o["net"], o["peak_debit"])
        for o in report["operators"]
    ] == [("BOC", "0.00", "0.01", "0.01", "0.00"), ("ICBC", "0.01", "0.00", "-0.01", "0.01")]
    assert [(o["net_debit_cap"], o["peak_utilisation_percent"]) for o in report["operators"]] == [
        ("1.00", "0.00"),
        ("500000.00", "0.00"),
    ]
    assert report["tier1_moves"] == [
        {"debit_account": "OP:ICBC:POSITION", "credit_account": "CB:SETTLEMENT", "amount": "0.01"},
        {"debit_account": "CB:SETTLEMENT", "credit_account": "OP:BOC:POSITION", "amount": "0.01"},
    ]
    assert sandbox.ok("GET", "/v1/operators/BOC")["position"] == "500000.01"
    with sandbox.db.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT kind, reference, window_id FROM transfers WHERE id = :id"),
            {"id": fen["settlement_transfer_id"]},
        ).one()
    assert tuple(row) == ("settlement", f"settlement window {fen['id']}", fen["id"])
    # Each close's event carries the window as GET renders it.
    events = sandbox.ok(
        "GET",
        "/v1/events",
        key="central_bank",
        query_string={"type": "settlement.window_closed", "limit": 10},
    )["items"]
    assert [e["data"] for e in events] == [
        sandbox.ok("GET", f"/v1/settlement/windows/{w['id']}", key="auditor") for w in (even, fen)
    ]


def test_the_ndc_alert_marks_the_posting_that_takes_the_debit_across_the_threshold(sandbox):
    """The threshold is 80 % of the cap; what counts is the net debit before
    the posting (sent less received in the window) and after it."""
    i1, b1, _ = _deferred_with_cap(sandbox, "5000.00", "900.00")

    def pay(src, dst, amount, key):
        body = {"from_wallet": src, "to_wallet": dst, "amount": amount}
        sandbox.ok("POST", "/v1/transfers", json=body, key=key)

    def alerts():
        return sandbox.ok("GET", "/v1/alerts?type=ndc_threshold", key="central_bank")["items"]

    def cap(amount):
        sandbox.ok(
            "PUT",
            "/v1/settlement/operators/ICBC/net-debit-cap",
            json={"net_debit_cap": amount},
            key="central_bank",
            status=200,
        )

    # 400.00 out and back: a net debit of 0.00, however much went each way.
    pay(i1, b1, "400.00", "ICBC")
    pay(b1, i1, "400.00", "BOC")
    pay(i1, b1, "480.00", "ICBC")  # 480.00 of 900.00: below 720.00
    assert alerts() == []
    # A cap lowered under a standing debit: 480.00 is 80 % of 600.00, but no
    # posting took it there; the next posting does not cross it either.
    cap("600.00")
    pay(i1, b1, "1.00", "ICBC")
    assert alerts() == []
    pay(b1, i1, "100.00", "BOC")  # 381.00: below 480.00 again
    pay(i1, b1, "99.00", "ICBC")  # 480.00: across it
    (alert,) = alerts()
    assert (alert["evidence"]["net_debit"], alert["evidence"]["net_debit_cap"]) == (
        "480.00",
        "600.00",
    )
    window = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")
    icbc = next(p for p in window["positions"] if p["operator"] == "ICBC")
    assert (icbc["sent"], icbc["received"], icbc["net"]) == ("980.00", "500.00", "-480.00")


def test_a_failed_linked_chain_leaves_the_windows_positions_as_they_were(sandbox):
    for code in ("ICBC", "BOC"):
        sandbox.operator(code, reserve="1000000.00", issue="500000.00")
    settings = {"model": "deferred_net"}
    sandbox.ok("PUT", "/v1/settlement/settings", json=settings, key="central_bank", status=200)
    i1, b1 = sandbox.wallet("ICBC", 1, fund="1000.00"), sandbox.wallet("BOC", 1, fund="100.00")

    def item(i, src, dst, amount, **extra):
        return {"id": f"t-{i}", "from_wallet": src, "to_wallet": dst, "amount": amount, **extra}

    def positions():
        window = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")
        return {
            p["operator"]: (p["sent"], p["received"], p["peak_debit"]) for p in window["positions"]
        }

    def pay(src, dst, amount, key):
        body = {"from_wallet": src, "to_wallet": dst, "amount": amount}
        sandbox.ok("POST", "/v1/transfers", json=body, key=key)

    pay(i1, b1, "50.00", "ICBC")
    pay(b1, i1, "20.00", "BOC")
    before = positions()
    assert before == {"BOC": ("20.00", "50.00", "0.00"), "ICBC": ("50.00", "20.00", "50.00")}
    items = [
        item(2, i1, b1, "100.00", linked=True),  # applied to the window, then undone
        item(3, i1, b1, "5000.00"),  # more than i1 holds: the chain fails
    ]
    out = sandbox.ok(
        "POST", "/v1/transfers/batch", json={"transfers": items}, key="ICBC", status=200
    )
    assert [r["code"] for r in out["results"]] == ["linked_transfer_failed", "insufficient_funds"]
    assert positions() == before
    pay(i1, b1, "10.00", "ICBC")
    assert positions() == {"BOC": ("20.00", "60.00", "0.00"), "ICBC": ("60.00", "20.00", "50.00")}


def test_each_settings_change_is_one_event_with_the_settings_as_get_renders_them(sandbox):
    sandbox.operator("ICBC", reserve="1000000.00", issue="500000.00")

    def put(body):
        return sandbox.ok(
            "PUT", "/v1/settlement/settings", json=body, key="central_bank", status=200
        )

    def events():
        query = {"type": "settlement.settings_updated", "limit": 50}
        return sandbox.ok("GET", "/v1/events", key="central_bank", query_string=query)["items"]

    assert events() == []
    first = put({"model": "deferred_net", "ndc_reserve_ratio": "0.5", "cutoff": "17:00"})
    assert (first["model"], first["ndc_reserve_ratio"], first["cutoff"]) == (
        "deferred_net",
        "0.5",
        "17:00",
    )
    second = put({"ndc_alert_percent": "90", "cutoff": None})
    assert put({"ndc_alert_percent": "90"}) == second  # nothing changed: no event
    assert [e["data"] for e in events()] == [first, second]
    assert sandbox.ok("GET", "/v1/settlement/settings", key="auditor") == second
    assert (second["ndc_alert_percent"], second["cutoff"], second["ndc_reserve_ratio"]) == (
        "90",
        None,
        "0.5",
    )
    # The derived cap: the free reserve (500,000.00) times the ratio.
    window = sandbox.ok("GET", "/v1/settlement/windows/current", key="central_bank")
    assert [(p["operator"], p["net_debit_cap"]) for p in window["positions"]] == [
        ("ICBC", "250000.00")
    ]
