"""Wallet lifecycle, ETags, merchant wallets and sub-wallets, statements."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from wallets.retail import payments


def pay(sb, src, dst, amount="1.00", key="ICBC"):
    return sb.post(
        "/v1/transfers", {"from_wallet": src, "to_wallet": dst, "amount": amount}, key=key
    )


def code(r):
    return r.get_json()["code"]


def test_frozen_wallet_neither_pays_nor_receives(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    h = demo.ok(
        "POST", "/v1/holds", json={"from_wallet": a, "to_wallet": b, "amount": "10.00"}, key="ICBC"
    )
    h2 = demo.ok(
        "POST", "/v1/holds", json={"from_wallet": a, "to_wallet": b, "amount": "20.00"}, key="ICBC"
    )
    frozen = demo.ok("POST", f"/v1/wallets/{a}/freeze", key="ICBC", status=200)
    assert frozen["status"] == "frozen"
    before = demo.journal_count()
    assert code(pay(demo, a, b)) == "wallet_frozen"
    assert code(pay(demo, b, a)) == "wallet_frozen"
    assert (
        code(demo.post(f"/v1/wallets/{a}/fund", {"amount": "1.00"}, key="ICBC")) == "wallet_frozen"
    )
    assert (
        code(demo.post(f"/v1/wallets/{a}/defund", {"amount": "1.00"}, key="ICBC"))
        == "wallet_frozen"
    )
    assert (
        code(
            demo.post("/v1/holds", {"from_wallet": a, "to_wallet": b, "amount": "1.00"}, key="ICBC")
        )
        == "wallet_frozen"
    )
    assert code(demo.post(f"/v1/holds/{h['id']}/capture", {}, key="ICBC")) == "wallet_frozen"
    assert demo.journal_count() == before
    demo.ok("POST", f"/v1/holds/{h2['id']}/void", key="ICBC", status=200)  # its own funds come back
    assert code(demo.post(f"/v1/wallets/{a}/freeze", key="ICBC")) == "invalid_wallet_transition"
    demo.ok("POST", f"/v1/wallets/{a}/unfreeze", key="ICBC", status=200)
    assert pay(demo, a, b).status_code == 201
    demo.ok("POST", f"/v1/holds/{h['id']}/capture", key="ICBC", status=200)
    assert code(demo.post(f"/v1/wallets/{a}/unfreeze", key="ICBC")) == "invalid_wallet_transition"


def test_close_only_when_empty_then_nothing_moves(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    r = demo.post(f"/v1/wallets/{a}/close", key="ICBC")
    assert r.status_code == 409 and code(r) == "wallet_not_empty"
    demo.ok("POST", f"/v1/wallets/{a}/defund", json={"amount": "990.00"}, key="ICBC")
    h = demo.ok(
        "POST", "/v1/holds", json={"from_wallet": a, "to_wallet": b, "amount": "10.00"}, key="ICBC"
    )
    assert (
        code(demo.post(f"/v1/wallets/{a}/close", key="ICBC")) == "wallet_not_empty"
    )  # an open hold
    demo.ok("POST", f"/v1/holds/{h['id']}/void", key="ICBC", status=200)
    demo.ok("POST", f"/v1/wallets/{a}/defund", json={"amount": "10.00"}, key="ICBC")
    closed = demo.ok("POST", f"/v1/wallets/{a}/close", key="ICBC", status=200)
    assert closed["status"] == "closed" and closed["balance"] == "0.00"
    assert code(pay(demo, b, a)) == "wallet_closed"
    assert (
        code(demo.post(f"/v1/wallets/{a}/fund", {"amount": "1.00"}, key="ICBC")) == "wallet_closed"
    )
    for action in ("freeze", "unfreeze", "close"):
        assert (
            code(demo.post(f"/v1/wallets/{a}/{action}", key="ICBC")) == "invalid_wallet_transition"
        )
    etag = demo.get(f"/v1/wallets/{a}", key="ICBC").headers["ETag"]
    r = demo.call(
        "PATCH", f"/v1/wallets/{a}", "ICBC", json={"label": "x"}, headers={"If-Match": etag}
    )
    assert code(r) == "wallet_closed"


def test_a_frozen_wallet_is_unfrozen_before_it_closes(demo):
    """SPEC §4: active -> frozen <-> active -> closed; an empty frozen wallet
    stays frozen when asked to close."""
    a = demo.demo_wallets["a"]
    demo.ok("POST", f"/v1/wallets/{a}/defund", json={"amount": "1000.00"}, key="ICBC")
    demo.ok("POST", f"/v1/wallets/{a}/freeze", key="ICBC", status=200)
    r = demo.post(f"/v1/wallets/{a}/close", key="ICBC")
    assert r.status_code == 409 and code(r) == "invalid_wallet_transition"
    assert r.get_json()["current_status"] == "frozen"
    assert demo.get(f"/v1/wallets/{a}", key="ICBC").get_json()["status"] == "frozen"
    demo.ok("POST", f"/v1/wallets/{a}/unfreeze", key="ICBC", status=200)
    assert demo.ok("POST", f"/v1/wallets/{a}/close", key="ICBC", status=200)["status"] == "closed"


def test_etag_and_if_match(demo):
    b = demo.demo_wallets["b"]
    r = demo.get(f"/v1/wallets/{b}", key="ICBC")
    etag = r.headers["ETag"]
    assert etag == f'"w{b}v1"'
    missing = demo.call("PATCH", f"/v1/wallets/{b}", "ICBC", json={"label": "desk 1"})
    assert missing.status_code == 428 and code(missing) == "if_match_required"
    wrong = demo.call(
        "PATCH",
        f"/v1/wallets/{b}",
        "ICBC",
        json={"label": "desk 1"},
        headers={"If-Match": '"w1v99"'},
    )
    assert wrong.status_code == 412 and code(wrong) == "etag_mismatch"
    ok = demo.call(
        "PATCH", f"/v1/wallets/{b}", "ICBC", json={"label": "desk 1"}, headers={"If-Match": etag}
    )
    assert (
        ok.status_code == 200
        and ok.get_json()["label"] == "desk 1"
        and ok.headers["ETag"] == f'"w{b}v2"'
    )
    stale = demo.call(
        "PATCH", f"/v1/wallets/{b}", "ICBC", json={"label": "desk 2"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    # Status actions take If-Match too, when given.
    assert (
        demo.post(f"/v1/wallets/{b}/freeze", key="ICBC", headers={"If-Match": etag}).status_code
        == 412
    )
    assert (
        demo.post(
            f"/v1/wallets/{b}/freeze", key="ICBC", headers={"If-Match": f'"w{b}v2"'}
        ).status_code
        == 200
    )


def test_if_match_lists_star_weak_tags_and_malformed(demo):
    """RFC 9110 section 13.1.1: a list matches when any of its tags matches
    (strong comparison: a weak tag never does); * matches any current wallet."""
    b = demo.demo_wallets["b"]

    def patch(if_match: str, label: str):
        return demo.call(
            "PATCH",
            f"/v1/wallets/{b}",
            "ICBC",
            json={"label": label},
            headers={"If-Match": if_match},
        )

    def etag() -> str:
        return demo.get(f"/v1/wallets/{b}", key="ICBC").headers["ETag"]

    listed = patch(f'"other", {etag()}', "one")
    assert listed.status_code == 200 and listed.get_json()["label"] == "one"
    assert patch(f' , "x",{etag()} ,', "two").status_code == 200  # empty elements are allowed
    starred = patch("*", "three")
    assert starred.status_code == 200 and starred.get_json()["label"] == "three"
    for weak in (f"W/{etag()}", f'W/{etag()}, "other"'):
        r = patch(weak, "four")
        assert r.status_code == 412 and code(r) == "etag_mismatch", weak
        assert r.get_json()["etag"] == etag()
    assert patch('"other", "w1v99"', "four").status_code == 412
    for bad in ("", "w1v2", f"{etag()[1:]}", f'{etag()} "x"', "*, " + etag(), '"a"b'):
        r = patch(bad, "five")
        assert r.status_code == 400 and code(r) == "bad_request", bad
        assert "If-Match" in r.get_json()["errors"]
    assert demo.get(f"/v1/wallets/{b}", key="ICBC").get_json()["label"] == "three"
    # The status actions read If-Match the same way.
    r = demo.post(f"/v1/wallets/{b}/freeze", key="ICBC", headers={"If-Match": f'"x", {etag()}'})
    assert r.status_code == 200
    r = demo.post(f"/v1/wallets/{b}/unfreeze", key="ICBC", headers={"If-Match": f"W/{etag()}"})
    assert r.status_code == 412
    r = demo.post(f"/v1/wallets/{b}/unfreeze", key="ICBC", headers={"If-Match": "*"})
    assert r.status_code == 200


def test_downgrade_to_class4_keeps_only_a_phone_hash(demo):
    b = demo.demo_wallets["b"]
    etag = demo.get(f"/v1/wallets/{b}", key="ICBC").headers["ETag"]
    r = demo.call(
        "PATCH", f"/v1/wallets/{b}", "ICBC", json={"wallet_class": 4}, headers={"If-Match": etag}
    )
    assert r.status_code == 422 and "phone" in r.get_json()["errors"]
    r = demo.call(
        "PATCH",
        f"/v1/wallets/{b}",
        "ICBC",
        json={"wallet_class": 4, "phone": "+8613811112222"},
        headers={"If-Match": etag},
    )
    got = r.get_json()
    assert (
        r.status_code == 200
        and got["wallet_class"] == 4
        and got["birth_date"] is None
        and got["has_phone"]
    )


def test_merchant_sub_wallets_roll_up_and_sweep(demo):
    a = demo.demo_wallets["a"]
    parent = demo.ok(
        "POST",
        "/v1/wallets",
        json={"wallet_class": 1, "kind": "merchant", "region": "MO", "label": "cage"},
        key="ICBC",
    )
    desks = [
        demo.ok(
            "POST",
            "/v1/wallets",
            json={
                "wallet_class": 1,
                "kind": "merchant",
                "region": "MO",
                "parent_id": parent["id"],
                "label": f"desk {i}",
            },
            key="ICBC",
        )["id"]
        for i in (1, 2, 3)
    ]
    for desk, amount in zip(desks, ("10.00", "20.50", "0.01"), strict=True):
        assert pay(demo, a, desk, amount).status_code == 201
    demo.ok("POST", f"/v1/wallets/{desks[2]}/freeze", key="ICBC", status=200)
    got = demo.ok("GET", f"/v1/wallets/{parent['id']}", key="ICBC")
    assert got["balance"] == "0.00" and got["subwallets_balance"] == "30.51"
    nested = demo.post(
        "/v1/wallets",
        {"wallet_class": 1, "kind": "merchant", "region": "MO", "parent_id": desks[0]},
        key="ICBC",
    )
    assert nested.status_code == 422 and "parent_id" in nested.get_json()["errors"]
    swept = demo.ok("POST", f"/v1/wallets/{parent['id']}/sweep", key="ICBC")
    assert [(t["kind"], t["from_wallet"], t["amount"]) for t in swept] == [
        ("sweep", desks[0], "10.00"),
        ("sweep", desks[1], "20.50"),
    ]  # the frozen desk keeps its 0.01
    got = demo.ok("GET", f"/v1/wallets/{parent['id']}", key="ICBC")
    assert got["balance"] == "30.50" and got["subwallets_balance"] == "0.01"
    assert demo.ok("POST", f"/v1/wallets/{parent['id']}/sweep", key="ICBC") == []
    assert demo.get(f"/v1/wallets/{a}", key="ICBC").get_json()["subwallets_balance"] is None


def test_a_sweep_skips_a_sub_wallet_frozen_after_it_was_read(demo, monkeypatch):
    """The sweep reads the sub-wallets before it locks them; one frozen in between
    (its status re-read under the lock) keeps its balance."""
    a = demo.demo_wallets["a"]
    parent = demo.ok(
        "POST",
        "/v1/wallets",
        json={"wallet_class": 1, "kind": "merchant", "region": "MO", "label": "till"},
        key="ICBC",
    )["id"]
    desks = [
        demo.ok(
            "POST",
            "/v1/wallets",
            json={"wallet_class": 1, "kind": "merchant", "region": "MO", "parent_id": parent},
            key="ICBC",
        )["id"]
        for _ in (1, 2)
    ]
    for desk, amount in zip(desks, ("7.00", "3.25"), strict=True):
        assert pay(demo, a, desk, amount).status_code == 201
    demo.ok("POST", f"/v1/wallets/{desks[1]}/freeze", key="ICBC", status=200)
    real_children = payments.wl.children

    def read_before_the_freeze(tx, parent_id):
        return [replace(c, status="active") for c in real_children(tx, parent_id)]

    monkeypatch.setattr(payments.wl, "children", read_before_the_freeze)
    swept = demo.ok("POST", f"/v1/wallets/{parent}/sweep", key="ICBC")
    monkeypatch.undo()
    assert [(t["kind"], t["from_wallet"], t["amount"]) for t in swept] == [
        ("sweep", desks[0], "7.00")
    ]
    assert demo.balance(desks[1]) == "3.25" and demo.balance(desks[0]) == "0.00"
    assert demo.ok("GET", f"/v1/wallets/{parent}", key="ICBC")["balance"] == "7.00"


def test_statement_opening_entries_closing(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-06-01T09:00:00+08:00"})
    pay(demo, a, b, "100.00")
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-06-02T09:00:00+08:00"})
    pay(demo, a, c, "50.00")
    pay(demo, b, a, "25.25")
    h = demo.ok(
        "POST", "/v1/holds", json={"from_wallet": a, "to_wallet": b, "amount": "70.00"}, key="ICBC"
    )
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-06-03T09:00:00+08:00"})
    pay(demo, a, b, "1.00")
    st = demo.ok(
        "GET",
        f"/v1/wallets/{a}/statement?from=2027-06-02T00:00:00%2B08:00&to=2027-06-03T00:00:00%2B08:00",
        key="ICBC",
    )
    assert st["opening"] == {"available": "900.00", "held": "0.00", "balance": "900.00"}
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in st["entries"]] == [
        ("payment", "-50.00", "850.00"),
        ("payment", "25.25", "875.25"),
        ("hold", "-70.00", "805.25"),
    ]
    assert (
        st["entries"][2]["hold_id"] == h["id"]
        and st["entries"][0]["counterparty_account"] == "OP:ICBC:SETTLEMENT"
    )
    assert st["closing"] == {"available": "805.25", "held": "70.00", "balance": "875.25"}
    page = demo.ok("GET", f"/v1/wallets/{a}/statement?limit=2", key="ICBC")
    assert page["opening"]["balance"] == "0.00" and len(page["entries"]) == 2 and page["next_after"]
    rest = demo.ok(
        "GET", f"/v1/wallets/{a}/statement?limit=2&after={page['next_after']}", key="ICBC"
    )
    running = Decimal(page["entries"][1]["balance_after"]) + Decimal(rest["entries"][0]["amount"])
    assert Decimal(rest["entries"][0]["balance_after"]) == running
    # Moving the clock a day on expired the hold (default timeout: one hour).
    everything = demo.ok("GET", f"/v1/wallets/{a}/statement", key="ICBC")
    assert [e["kind"] for e in everything["entries"]][-2:] == ["hold_expiry", "payment"]
    assert everything["closing"] == {"available": "874.25", "held": "0.00", "balance": "874.25"}
    assert everything["entries"][-1]["balance_after"] == "874.25"
    assert demo.get(f"/v1/wallets/{a}/statement", key="BOC").status_code == 404
    assert demo.get(f"/v1/wallets/{a}/statement?from=yesterday", key="ICBC").status_code == 422


def test_a_sweep_is_one_transfer_per_desk_into_a_parent_under_its_cap(demo):
    rich = demo.wallet("ICBC", 1, fund="20000.00")
    parent = demo.ok(
        "POST",
        "/v1/wallets",
        json={"wallet_class": 4, "kind": "merchant", "region": "MO", "phone": "+85312345678"},
        key="ICBC",
    )["id"]
    desks = [
        demo.ok(
            "POST",
            "/v1/wallets",
            json={"wallet_class": 1, "kind": "merchant", "region": "MO", "parent_id": parent},
            key="ICBC",
        )["id"]
        for _ in (1, 2, 3)
    ]
    for desk, amount in zip(desks, ("6000.00", "0.01", "5000.00"), strict=True):
        assert pay(demo, rich, desk, amount).status_code == 201
    # 11,000.01 would pass the parent's balance cap (class 4: 10,000.00): nothing moves.
    r = demo.post(f"/v1/wallets/{parent}/sweep", key="ICBC")
    body = r.get_json()
    assert r.status_code == 422 and (body["code"], body["limit"]) == (
        "limit_exceeded",
        "balance_cap",
    )
    assert [demo.balance(w) for w in (parent, *desks)] == ["0.00", "6000.00", "0.01", "5000.00"]
    assert pay(demo, desks[2], rich, "5000.00").status_code == 201
    swept = demo.ok("POST", f"/v1/wallets/{parent}/sweep", key="ICBC")
    assert [
        (
            t["kind"],
            t["from_wallet"],
            t["to_wallet"],
            t["from_operator"],
            t["to_operator"],
            t["amount"],
        )
        for t in swept
    ] == [
        ("sweep", desks[0], parent, "ICBC", "ICBC", "6000.00"),
        ("sweep", desks[1], parent, "ICBC", "ICBC", "0.01"),  # the least amount, swept too
    ]
    assert [demo.balance(w) for w in (parent, *desks)] == ["6000.01", "0.00", "0.00", "0.00"]
