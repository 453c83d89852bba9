"""Each operation through the API, with the journal rows and balances it leaves."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from wallets.core.schema import accounts
from wallets.ledger.accounts import ECNY
from wallets.ledger.journal import balances_at, chain_length_at, first_posted_at, load_transfer
from wallets.ledger.posting import Leg, Posting, TransferDraft


def test_operator_create_list_get(sandbox):
    sandbox.operator("ICBC", reserve="1000.00", issue="400.00")
    sandbox.operator("BOC", reserve="50.00", issue=None)
    got = sandbox.ok("GET", "/v1/operators/ICBC")
    assert got == {
        "code": "ICBC",
        "name": "ICBC bank",
        "reserve": "600.00",
        "position": "400.00",
        "vault": "400.00",
        "wallets_total": "0.00",
        "holds": "0.00",
        "offline": "0.00",
        "reserve_total": "1000.00",
        "reserve_consumed": "400.00",
        "open_window_net": "0.00",
        "net_debit_cap": "600.00",
        "utilisation_percent": "0.00",
        "wallet_count": 0,
        "reconciled": True,
    }
    page = sandbox.ok("GET", "/v1/operators?limit=1")
    assert [o["code"] for o in page["items"]] == ["BOC"] and page["next_after"] == "BOC"
    page2 = sandbox.ok("GET", f"/v1/operators?limit=1&after={page['next_after']}")
    assert [o["code"] for o in page2["items"]] == ["ICBC"] and page2["next_after"] is None
    dup = sandbox.post("/v1/operators", {"code": "ICBC", "name": "again"}, key="central_bank")
    assert dup.status_code == 409 and dup.get_json()["code"] == "operator_exists"


def test_issuance_consumes_reserve_and_fills_position_and_vault(sandbox):
    sandbox.operator("ICBC", reserve="1000.00", issue=None)
    t = sandbox.ok(
        "POST", "/v1/operators/ICBC/issuances", json={"amount": "250.25"}, key="central_bank"
    )
    assert t["kind"] == "issuance" and t["amount"] == "250.25" and t["to_operator"] == "ICBC"
    assert [
        (e["debit_account"], e["credit_account"], e["asset"], e["amount"]) for e in t["entries"]
    ] == [
        ("OP:ICBC:RESERVE", "CB:RESERVE:HELD", "RESERVE", "250.25"),
        ("CB:ISSUANCE", "OP:ICBC:POSITION", "ECNY", "250.25"),
        ("OP:ICBC:SETTLEMENT", "OP:ICBC:VAULT", "ECNY", "250.25"),
    ]
    op = sandbox.ok("GET", "/v1/operators/ICBC")
    assert (op["reserve"], op["position"], op["vault"]) == ("749.75", "250.25", "250.25")


def test_issuance_beyond_reserve_is_refused_and_writes_nothing(sandbox):
    sandbox.operator("ICBC", reserve="100.00", issue=None)
    before = sandbox.journal_count()
    r = sandbox.post("/v1/operators/ICBC/issuances", {"amount": "100.01"}, key="central_bank")
    assert r.status_code == 422
    body = r.get_json()
    assert (
        body["code"] == "insufficient_reserve"
        and body["available"] == "100.00"
        and body["required"] == "100.01"
    )
    assert r.mimetype == "application/problem+json"
    assert sandbox.journal_count() == before


def test_redemption_returns_reserve(sandbox):
    sandbox.operator("ICBC", reserve="1000.00", issue="600.00")
    t = sandbox.ok("POST", "/v1/operators/ICBC/redemptions", json={"amount": "100.00"}, key="ICBC")
    assert t["kind"] == "redemption" and t["from_operator"] == "ICBC"
    op = sandbox.ok("GET", "/v1/operators/ICBC", key="ICBC")
    assert (op["reserve"], op["position"], op["vault"]) == ("500.00", "500.00", "500.00")
    r = sandbox.post("/v1/operators/ICBC/redemptions", {"amount": "500.01"}, key="ICBC")
    assert r.status_code == 422 and r.get_json()["code"] == "insufficient_vault_funds"


def test_partial_reserve_ratio_keeps_consumed_reserve_exact(sandbox):
    from wallets.tier1 import issuance

    sandbox.db.write(issuance.set_reserve_ratio, "0.33")
    sandbox.operator("ICBC", reserve="1000.00", issue=None)
    for amount in ("0.01", "0.01", "0.01", "10.00", "3.33"):
        sandbox.ok("POST", "/v1/operators/ICBC/issuances", json={"amount": amount}, key="ICBC")
    sandbox.ok("POST", "/v1/operators/ICBC/redemptions", json={"amount": "0.02"}, key="ICBC")
    check5 = sandbox.reconcile().checks[4]
    assert check5.ok, check5.problems
    # outstanding 13.34 CNY = 1334 fen; ceil(1334 x 0.33) = 441 fen consumed
    assert check5.figures["reserves_consumed"] == "4.41"
    assert sandbox.ok("GET", "/v1/operators/ICBC")["reserve"] == "995.59"


def test_fund_and_defund_move_between_vault_and_wallet(sandbox):
    sandbox.operator("ICBC", reserve="1000.00", issue="300.00")
    w = sandbox.wallet("ICBC", 2)
    t = sandbox.ok(
        "POST",
        f"/v1/wallets/{w}/fund",
        json={"amount": "120.00", "reference": "salary"},
        key="ICBC",
    )
    assert t["kind"] == "funding" and t["to_wallet"] == w and t["reference"] == "salary"
    assert [(e["debit_account"], e["credit_account"]) for e in t["entries"]] == [
        ("OP:ICBC:VAULT", f"W:{w}:ECNY")
    ]
    sandbox.ok("POST", f"/v1/wallets/{w}/defund", json={"amount": "20.00"}, key="ICBC")
    assert sandbox.balance(w) == "100.00"
    op = sandbox.ok("GET", "/v1/operators/ICBC")
    assert (op["vault"], op["wallets_total"], op["position"]) == ("200.00", "100.00", "300.00")
    r = sandbox.post(f"/v1/wallets/{w}/defund", {"amount": "100.01"}, key="ICBC")
    assert r.status_code == 422 and r.get_json()["code"] == "insufficient_funds"
    r = sandbox.post(f"/v1/wallets/{w}/fund", {"amount": "200.01"}, key="ICBC")
    assert r.status_code == 422 and r.get_json()["code"] == "insufficient_vault_funds"


def test_payment_within_an_operator_is_one_entry(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    t = demo.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": a, "to_wallet": b, "amount": "0.01"},
        key="ICBC",
    )
    assert t["kind"] == "payment" and t["from_operator"] == t["to_operator"] == "ICBC"
    assert [(e["debit_account"], e["credit_account"], e["amount"]) for e in t["entries"]] == [
        (f"W:{a}:ECNY", f"W:{b}:ECNY", "0.01")
    ]
    assert demo.balance(a) == "999.99" and demo.balance(b) == "500.01"


def test_payment_across_operators_moves_tier1_positions_at_once(demo):
    a, c = demo.demo_wallets["a"], demo.demo_wallets["c"]
    assert demo.ok("GET", "/v1/operators/ICBC")["position"] == "500000.00"
    before_boc = demo.ok("GET", "/v1/operators/BOC")["position"]
    t = demo.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": a, "to_wallet": c, "amount": "300.00"},
        key="ICBC",
    )
    assert (t["from_operator"], t["to_operator"]) == ("ICBC", "BOC")
    assert [(e["debit_account"], e["credit_account"]) for e in t["entries"]] == [
        (f"W:{a}:ECNY", "OP:ICBC:SETTLEMENT"),
        ("OP:BOC:SETTLEMENT", f"W:{c}:ECNY"),
        ("OP:ICBC:POSITION", "OP:BOC:POSITION"),
    ]
    icbc, boc = demo.ok("GET", "/v1/operators/ICBC"), demo.ok("GET", "/v1/operators/BOC")
    assert icbc["position"] == "499700.00" and boc["position"] == "500300.00"
    assert icbc["reconciled"] and boc["reconciled"]
    assert before_boc == "500000.00"
    assert demo.balance(a) == "700.00" and demo.balance(c) == "500.00"


def test_payment_refusals(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]
    before = demo.journal_count()
    cases = [
        ({"from_wallet": a, "to_wallet": b, "amount": "1000.01"}, 422, "insufficient_funds"),
        ({"from_wallet": a, "to_wallet": a, "amount": "1.00"}, 422, "same_wallet"),
        ({"from_wallet": a, "to_wallet": 999999, "amount": "1.00"}, 404, "wallet_not_found"),
        (
            {"from_wallet": c, "to_wallet": a, "amount": "1.00"},
            404,
            "wallet_not_found",
        ),  # not ICBC's wallet
    ]
    for body, status, code in cases:
        r = demo.post("/v1/transfers", body, key="ICBC")
        assert (r.status_code, r.get_json()["code"]) == (status, code), body
    assert demo.journal_count() == before
    assert demo.balance(a) == "1000.00"


def test_transfers_get_and_list_by_wallet(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]
    ids = [
        demo.ok(
            "POST",
            "/v1/transfers",
            json={"from_wallet": a, "to_wallet": x, "amount": "1.00"},
            key="ICBC",
        )["id"]
        for x in (b, c, b)
    ]
    got = demo.ok("GET", f"/v1/transfers/{ids[1]}", key="BOC")  # BOC sees a payment it received
    assert got["to_wallet"] == c
    page = demo.ok("GET", f"/v1/transfers?wallet={b}&limit=2", key="ICBC")
    assert [t["id"] for t in page["items"]][-1] == ids[0] and page["next_after"] is not None
    rest = demo.ok(
        "GET", f"/v1/transfers?wallet={b}&limit=2&after={page['next_after']}", key="ICBC"
    )
    assert [t["id"] for t in rest["items"]] == [ids[2]] and rest["next_after"] is None
    # BOC cannot list ICBC's wallet, nor read a transfer between two ICBC wallets.
    assert demo.get(f"/v1/transfers?wallet={b}", key="BOC").status_code == 404
    assert demo.get(f"/v1/transfers/{ids[0]}", key="BOC").status_code == 404
    assert demo.get("/v1/transfers/424242").get_json()["code"] == "transfer_not_found"


def test_wallets_open_get_list_balance(sandbox):
    sandbox.operator("BOCMO")
    w4 = sandbox.ok(
        "POST",
        "/v1/wallets",
        json={"wallet_class": 4, "region": "MO", "phone": "+85366123456"},
        key="BOCMO",
    )
    assert (
        w4["operator"] == "BOCMO"
        and w4["has_phone"]
        and w4["birth_date"] is None
        and w4["status"] == "active"
    )
    w1 = sandbox.ok(
        "POST",
        "/v1/wallets",
        json={
            "wallet_class": 1,
            "region": "MO",
            "birth_date": "1970-05-01",
            "holder_id": "holder-7",
            "label": "x",
        },
        key="BOCMO",
    )
    assert w1["holder_id"] == "holder-7" and w1["balance"] == "0.00"
    assert sandbox.ok("GET", f"/v1/wallets/{w1['id']}", key="BOCMO") == w1
    # The holder is its operator's to know (docs/anonymity.md): not the auditor's.
    masked = {"holder_id": None, "holder_name": None, "birth_date": None}
    assert sandbox.ok("GET", f"/v1/wallets/{w1['id']}", key="auditor") == {**w1, **masked}
    page = sandbox.ok("GET", "/v1/wallets?limit=1", key="BOCMO")
    assert [w["id"] for w in page["items"]] == [w4["id"]]
    nxt = sandbox.ok("GET", f"/v1/wallets?limit=1&after={page['next_after']}", key="BOCMO")
    assert [w["id"] for w in nxt["items"]] == [w1["id"]] and nxt["next_after"] is None
    bal = sandbox.ok("GET", f"/v1/wallets/{w1['id']}/balance", key="BOCMO")
    assert bal["balance"] == bal["available"] == "0.00" and bal["asset"] == "ECNY"


def test_wallet_holder_rules(sandbox):
    sandbox.operator("ICBC")
    cases = [
        ({"wallet_class": 4, "region": "CN"}, "phone"),
        (
            {
                "wallet_class": 4,
                "region": "CN",
                "phone": "+8613800000000",
                "birth_date": "1990-01-01",
            },
            "birth_date",
        ),
        ({"wallet_class": 2, "region": "CN"}, "birth_date"),
        ({"wallet_class": 5, "region": "CN", "birth_date": "1990-01-01"}, "wallet_class"),
        ({"wallet_class": "1", "region": "CN", "birth_date": "1990-01-01"}, "wallet_class"),
        ({"wallet_class": 1, "region": "cn", "birth_date": "1990-01-01"}, "region"),
        ({"wallet_class": 1, "region": "CN", "birth_date": "2999-01-01"}, "birth_date"),
        ({"wallet_class": 4, "region": "CN", "phone": "12345"}, "phone"),
        ({"wallet_class": 1, "region": "CN", "birth_date": "1990-01-01", "operator": "NOPE"}, None),
    ]
    for body, field in cases:
        r = sandbox.post("/v1/wallets", body, key="ICBC")
        problem = r.get_json()
        if field is None:
            assert r.status_code == 404 and problem["code"] == "operator_not_found"
        else:
            assert r.status_code == 422 and field in problem["errors"], (body, problem)
    merchant = sandbox.ok(
        "POST",
        "/v1/wallets",
        json={"wallet_class": 1, "kind": "merchant", "region": "MO"},
        key="ICBC",
    )
    sub = sandbox.ok(
        "POST",
        "/v1/wallets",
        json={"wallet_class": 1, "kind": "merchant", "region": "MO", "parent_id": merchant["id"]},
        key="ICBC",
    )
    assert sub["parent_id"] == merchant["id"]


def test_reconciliation_reports_every_invariant(demo):
    report = demo.ok("GET", "/v1/audit/reconciliation", key="auditor")
    assert report["ok"] is True
    assert [c["id"] for c in report["checks"]] == [1, 2, 3, 4, 5, 6]
    outstanding = report["checks"][2]["figures"]
    assert (
        outstanding["outstanding"]
        == outstanding["vaults_wallets_holds_and_offline"]
        == outstanding["tier1_positions"]
        == "1000000.00"
    )
    assert report["checks"][3]["figures"]["ICBC"]["difference"] == "0.00"


def test_reconciliation_finds_a_tampered_balance(demo):
    with demo.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE accounts SET credits_posted = credits_posted + 1 WHERE code = 'W:1:ECNY'"
        )
    report = demo.ok("GET", "/v1/audit/reconciliation", key="central_bank")
    failed = {c["id"] for c in report["checks"] if not c["ok"]}
    assert report["ok"] is False and {1, 3, 4} <= failed
    assert any("W:1:ECNY" in p for p in report["checks"][0]["problems"])
    with demo.db.engine.begin() as conn:  # put it back so the after-test check passes
        conn.exec_driver_sql(
            "UPDATE accounts SET credits_posted = credits_posted - 1 WHERE code = 'W:1:ECNY'"
        )


def test_what_a_posting_returns_is_what_the_journal_holds(demo):
    """The posting engine itself: a leg of no amount is refused; a posted transfer,
    as returned, is the one the journal gives back (entries, hashes, hold)."""
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    hold = demo.ok(
        "POST", "/v1/holds", json={"from_wallet": a, "to_wallet": b, "amount": "1.00"}, key="ICBC"
    )

    def work(tx):
        ids = dict(tx.conn.execute(sa.select(accounts.c.code, accounts.c.id)).all())
        wa, wb = ids[f"W:{a}:ECNY"], ids[f"W:{b}:ECNY"]
        posting = Posting(tx, [wa, wb])
        nothing = TransferDraft(kind="payment", asset=ECNY, amount=0, legs=[Leg(wa, wb, 0, ECNY)])
        posting.add(nothing)
        posting.add(
            TransferDraft(
                kind="payment",
                asset=ECNY,
                amount=500,
                legs=[Leg(wa, wb, 500, ECNY)],
                from_wallet_id=a,
                to_wallet_id=b,
                reference="engine",
                hold_id=hold["id"],
                client_scope=7,
                client_id="engine-1",
            )
        )
        refused, posted = posting.commit()
        return refused, posted, load_transfer(tx, posted.id)

    refused, posted, stored = demo.db.write(work)
    assert (refused.code, refused.detail) == ("validation_failed", "amount must be positive")
    assert (posted.id, posted.kind, posted.amount, posted.reference, posted.hold_id) == (
        stored.id,
        stored.kind,
        stored.amount,
        stored.reference,
        hold["id"],
    )
    assert stored.hold_id == hold["id"]
    assert posted.entries == stored.entries and len(posted.entries) == 1
    # Every field alike (the instant compared apart: SQLite gives it back naive).
    assert stored.client_id == "engine-1"
    assert replace(posted, posted_at=None) == replace(stored, posted_at=None)
    assert stored.posted_at.replace(tzinfo=None) == posted.posted_at.replace(tzinfo=None)
    assert demo.balance(b) == "505.00"


def test_funding_records_its_operator_and_reference(demo):
    a = demo.demo_wallets["a"]
    funded = demo.ok(
        "POST", f"/v1/wallets/{a}/fund", json={"amount": "1.00", "reference": "top-up"}, key="ICBC"
    )
    back = demo.ok(
        "POST", f"/v1/wallets/{a}/defund", json={"amount": "2.00", "reference": "cash"}, key="ICBC"
    )
    for posted, reference in ((funded, "top-up"), (back, "cash")):
        stored = demo.ok("GET", f"/v1/transfers/{posted['id']}", key="ICBC")
        assert (stored["from_operator"], stored["to_operator"]) == ("ICBC", "ICBC")
        assert stored["reference"] == posted["reference"] == reference
    assert demo.balance(a) == "999.00"


def test_batch_items_reused_with_another_payer_or_touching_a_frozen_wallet(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]

    def batch(*items):
        transfers = [
            {"id": i, "from_wallet": src, "to_wallet": dst, "amount": amount}
            for i, src, dst, amount in items
        ]
        r = demo.post("/v1/transfers/batch", {"transfers": transfers}, key="ICBC")
        return [(x["status"], x["code"], x["detail"]) for x in r.get_json()["results"]]

    assert batch(("p-0", a, b, "10.00"))[0][0] == "posted"
    assert batch(("p-0", b, a, "10.00")) == [
        (
            "refused",
            "exists_with_different_from_wallet",
            "transfer 'p-0' exists with a different from_wallet",
        )
    ]
    demo.ok("POST", f"/v1/wallets/{b}/freeze", key="ICBC", status=200)
    assert batch(("p-1", b, a, "1.00"), ("p-2", a, b, "1.00")) == [
        ("refused", "wallet_frozen", f"the paying wallet {b} is frozen"),
        ("refused", "wallet_frozen", f"the receiving wallet {b} is frozen"),
    ]
    assert (demo.balance(a), demo.balance(b)) == ("990.00", "510.00")


def test_a_sweep_into_a_frozen_parent_is_refused(demo):
    a = demo.demo_wallets["a"]
    merchant = {"wallet_class": 1, "kind": "merchant", "region": "MO"}
    parent = demo.ok("POST", "/v1/wallets", json=merchant, key="ICBC")["id"]
    desk = demo.ok("POST", "/v1/wallets", json={**merchant, "parent_id": parent}, key="ICBC")["id"]
    demo.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": a, "to_wallet": desk, "amount": "5.00"},
        key="ICBC",
    )
    demo.ok("POST", f"/v1/wallets/{parent}/freeze", key="ICBC", status=200)
    r = demo.post(f"/v1/wallets/{parent}/sweep", key="ICBC")
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == "wallet_frozen"
    assert (body["wallet_id"], body["detail"]) == (
        parent,
        f"the receiving wallet {parent} is frozen",
    )
    assert (demo.balance(desk), demo.balance(parent)) == ("5.00", "0.00")


def test_a_refund_read_back_names_its_payment_and_operators_list_their_own(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]

    def pay(src, dst, amount, key="ICBC"):
        body = {"from_wallet": src, "to_wallet": dst, "amount": amount}
        return demo.ok("POST", "/v1/transfers", json=body, key=key)["id"]

    c_before = demo.balance(c)
    inside_icbc = pay(a, b, "5.00")  # ICBC to ICBC
    to_boc = pay(a, c, "30.00")  # ICBC to BOC
    refund = demo.ok(
        "POST", f"/v1/transfers/{to_boc}/refunds", json={"amount": "10.00"}, key="BOC"
    )["id"]  # BOC to ICBC
    # Loaded from the journal, a refund still names the payment it returns.
    assert demo.ok("GET", f"/v1/transfers/{refund}", key="BOC")["refund_of"] == to_boc
    assert demo.ok("GET", f"/v1/transfers/{to_boc}", key="ICBC")["refund_of"] is None

    def listed(key):
        got = demo.ok("GET", "/v1/transfers?limit=200", key=key)
        assert got["next_after"] is None
        return {t["id"]: t for t in got["items"]}

    icbc, boc = listed("ICBC"), listed("BOC")
    assert icbc[refund]["refund_of"] == to_boc
    # An operator sees the transfers it sends and those it receives...
    assert {inside_icbc, to_boc, refund} <= set(icbc)
    assert {to_boc, refund} <= set(boc)
    # ...and none between another operator's wallets.
    assert inside_icbc not in boc
    assert all("BOC" in (t["from_operator"], t["to_operator"]) for t in boc.values()), boc
    assert Decimal(demo.balance(c)) == Decimal(c_before) + Decimal("20.00")
    # A wallet's list holds what it sent as well as what it received.
    of_a = demo.ok("GET", f"/v1/transfers?wallet={a}&limit=200", key="ICBC")["items"]
    assert {inside_icbc, to_boc, refund} <= {t["id"] for t in of_a}
    of_b = {
        t["id"] for t in demo.ok("GET", f"/v1/transfers?wallet={b}&limit=200", key="ICBC")["items"]
    }
    assert inside_icbc in of_b and to_boc not in of_b and refund not in of_b


def test_balances_and_the_chain_length_at_instants_come_from_the_journal(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-06-01T09:00:00+08:00"})
    demo.ok("POST", "/v1/transfers", json={"from_wallet": a, "to_wallet": b, "amount": "100.00"})
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-06-02T09:00:00+08:00"})
    demo.ok("POST", "/v1/transfers", json={"from_wallet": a, "to_wallet": b, "amount": "25.25"})
    instants = [
        datetime.fromisoformat(t)
        for t in (
            "2027-06-01T08:00:00+08:00",
            "2027-06-01T12:00:00+08:00",
            "2027-06-03T00:00:00+08:00",
        )
    ]
    with demo.db.engine.connect() as conn:
        ids = dict(
            conn.execute(
                sa.select(accounts.c.code, accounts.c.id).where(
                    accounts.c.code.in_([f"W:{a}:ECNY", f"W:{b}:ECNY"])
                )
            ).all()
        )
    acc_a, acc_b = ids[f"W:{a}:ECNY"], ids[f"W:{b}:ECNY"]
    got = demo.db.read(balances_at, [acc_a, acc_b], instants)
    now_a, now_b = (int(Decimal(demo.balance(w)) * 100) for w in (a, b))
    assert got[acc_a] == [now_a + 12525, now_a + 2525, now_a]
    assert got[acc_b] == [now_b - 12525, now_b - 2525, now_b]
    # Entries after the last instant count on neither side.
    earlier = demo.db.read(balances_at, [acc_a, acc_b], instants[:2])
    assert earlier == {acc_a: got[acc_a][:2], acc_b: got[acc_b][:2]}
    chain = demo.db.read(chain_length_at, instants)
    total = demo.journal_count()
    assert chain == [total - 2, total - 1, total]


def test_history_of_nothing_and_the_journals_first_instant(sandbox):
    assert sandbox.db.read(first_posted_at) is None  # an empty journal
    sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-06-01T09:00:00+08:00"})
    sandbox.operator("ICBC", reserve="100.00", issue=None)
    sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-06-02T09:00:00+08:00"})
    sandbox.ok("POST", "/v1/operators/ICBC/issuances", json={"amount": "1.00"}, key="central_bank")
    first = sandbox.db.read(first_posted_at)
    assert first.replace(tzinfo=None) == datetime(2027, 6, 1, 1, 0)  # 09:00 at UTC+8
    # An entry posted at an instant exactly counts at that instant, not a microsecond before.
    issued = datetime.fromisoformat("2027-06-02T09:00:00+08:00")
    before = datetime.fromisoformat("2027-06-02T08:59:59.999999+08:00")
    later = datetime.fromisoformat("2027-06-02T10:00:00+08:00")
    with sandbox.db.engine.connect() as conn:
        ids = dict(
            conn.execute(
                sa.select(accounts.c.code, accounts.c.id).where(
                    accounts.c.code.in_(["OP:ICBC:POSITION", "OP:ICBC:SETTLEMENT"])
                )
            ).all()
        )
    # The issuance credits the position and debits the settlement account.
    position, settlement = ids["OP:ICBC:POSITION"], ids["OP:ICBC:SETTLEMENT"]
    got = sandbox.db.read(balances_at, [position, settlement], [before, issued])
    assert got == {position: [0, 100], settlement: [0, -100]}
    got = sandbox.db.read(balances_at, [position, settlement], [issued])
    assert got == {position: [100], settlement: [-100]}
    total = sandbox.journal_count()
    # Nothing was posted between the issuance and ``later``.
    assert sandbox.db.read(chain_length_at, [before, issued, later]) == [total - 3, total, total]
    instant = datetime.fromisoformat("2027-06-03T00:00:00+08:00")
    assert sandbox.db.read(chain_length_at, []) == []
    assert sandbox.db.read(balances_at, [], [instant]) == {}
    assert sandbox.db.read(balances_at, [1, 2], []) == {1: [], 2: []}


def test_a_holds_transfers_are_its_own_in_order(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]
    other = demo.ok(
        "POST", "/v1/holds", json={"from_wallet": c, "to_wallet": a, "amount": "5.00"}, key="BOC"
    )
    h = demo.ok(
        "POST", "/v1/holds", json={"from_wallet": a, "to_wallet": b, "amount": "30.00"}, key="ICBC"
    )
    demo.ok(
        "POST", f"/v1/holds/{h['id']}/capture", json={"amount": "12.50"}, key="ICBC", status=200
    )
    got = demo.ok("GET", f"/v1/holds/{h['id']}", key="ICBC")
    kinds = [(t["kind"], t["amount"], t["hold_id"]) for t in got["transfers"]]
    assert kinds == [
        ("hold", "30.00", h["id"]),
        ("capture", "12.50", h["id"]),
        ("hold_release", "17.50", h["id"]),
    ]
    ids = [t["id"] for t in got["transfers"]]
    assert ids == sorted(ids)
    assert [t["entries"] for t in got["transfers"]] == [
        demo.ok("GET", f"/v1/transfers/{i}", key="ICBC")["entries"] for i in ids
    ]
    (only,) = demo.ok("GET", f"/v1/holds/{other['id']}", key="BOC")["transfers"]
    assert (only["kind"], only["amount"]) == ("hold", "5.00")


def test_a_payment_names_the_wallet_it_cannot_find_and_refuses_paying_itself(demo):
    a = demo.demo_wallets["a"]
    for body, field, missing in (
        ({"from_wallet": 999999, "to_wallet": a}, "from_wallet", 999999),
        ({"from_wallet": a, "to_wallet": 888888}, "to_wallet", 888888),
    ):
        r = demo.post("/v1/transfers", {**body, "amount": "1.00"}, key="ICBC")
        got = r.get_json()
        assert r.status_code == 404 and got["code"] == "wallet_not_found", got
        assert (got["detail"], got["field"]) == (f"no wallet {missing}", field)
    r = demo.post("/v1/transfers", {"from_wallet": a, "to_wallet": a, "amount": "1.00"}, key="ICBC")
    got = r.get_json()
    assert (r.status_code, got["code"], got["detail"]) == (
        422,
        "same_wallet",
        "a wallet cannot pay itself",
    )
    assert demo.balance(a) == "1000.00"
