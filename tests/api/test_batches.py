"""POST /v1/transfers/batch: one transaction, one result per item, linked chains,
per-item idempotency by client id (TigerBeetle's model)."""

from __future__ import annotations


def item(i, src, dst, amount, **extra):
    return {"id": f"t-{i}", "from_wallet": src, "to_wallet": dst, "amount": amount, **extra}


def batch(sb, items, key="ICBC"):
    return sb.post("/v1/transfers/batch", {"transfers": items}, key=key)


def test_results_per_item_in_one_transaction(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]
    items = [
        item(0, a, b, "100.00"),
        item(1, a, c, "200.00"),
        item(2, b, a, "9999.00"),  # insufficient
        item(3, a, 424242, "1.00"),  # unknown payee
        item(4, c, a, "1.00"),  # not ICBC's payer
        item(5, b, b, "1.00"),
    ]
    out = batch(demo, items).get_json()
    assert (out["posted"], out["exists"], out["refused"]) == (2, 0, 4)
    assert [(r["index"], r["id"], r["status"], r["code"]) for r in out["results"]] == [
        (0, "t-0", "posted", None),
        (1, "t-1", "posted", None),
        (2, "t-2", "refused", "insufficient_funds"),
        (3, "t-3", "refused", "wallet_not_found"),
        (4, "t-4", "refused", "wallet_not_found"),
        (5, "t-5", "refused", "same_wallet"),
    ]
    assert (
        demo.balance(a) == "700.00" and demo.balance(b) == "600.00" and demo.balance(c) == "400.00"
    )
    t = demo.ok("GET", f"/v1/transfers/{out['results'][1]['transfer_id']}", key="ICBC")
    assert (t["from_operator"], t["to_operator"], len(t["entries"])) == ("ICBC", "BOC", 3)


def test_running_balances_within_a_batch(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    items = [
        item(0, a, b, "600.00"),
        item(1, a, b, "400.00"),
        item(2, a, b, "0.01"),
        item(3, b, a, "1500.00"),
    ]
    out = batch(demo, items).get_json()
    assert [r["status"] for r in out["results"]] == ["posted", "posted", "refused", "posted"]
    assert demo.balance(a) == "1500.00" and demo.balance(b) == "0.00"


def test_linked_chain_succeeds_or_fails_as_one(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]
    before = demo.journal_count()
    items = [
        item(0, a, b, "100.00", linked=True),
        item(1, b, c, "600.00", linked=True),  # b has 500.00 + 100.00: fine
        item(2, c, a, "1.00"),  # c is BOC's: refused, so the chain fails
        item(3, a, b, "5.00"),  # not in the chain
    ]
    out = batch(demo, items).get_json()
    assert [(r["status"], r["code"]) for r in out["results"]] == [
        ("refused", "linked_transfer_failed"),
        ("refused", "linked_transfer_failed"),
        ("refused", "wallet_not_found"),
        ("posted", None),
    ]
    assert "index 2" in out["results"][0]["detail"]
    assert (
        demo.balance(a) == "995.00" and demo.balance(b) == "505.00" and demo.balance(c) == "200.00"
    )
    assert demo.journal_count() == before + 1
    ok = batch(demo, [item(10, a, b, "10.00", linked=True), item(11, b, c, "515.00")]).get_json()
    assert [r["status"] for r in ok["results"]] == ["posted", "posted"]
    assert demo.balance(c) == "715.00"
    open_end = batch(demo, [item(20, a, b, "1.00", linked=True)]).get_json()
    assert open_end["results"][0]["code"] == "validation_failed"
    assert open_end["results"][0]["detail"] == "the last transfer of a batch cannot be linked"


def test_client_ids_make_items_idempotent(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    first = batch(demo, [item(0, a, b, "10.00"), item(1, a, b, "20.00")]).get_json()
    again = batch(
        demo, [item(0, a, b, "10.00"), item(1, a, b, "20.01"), item(2, a, b, "1.00")]
    ).get_json()
    assert [(r["status"], r["code"]) for r in again["results"]] == [
        ("exists", None),
        ("refused", "exists_with_different_amount"),
        ("posted", None),
    ]
    assert again["results"][0]["transfer_id"] == first["results"][0]["transfer_id"]
    assert demo.balance(a) == "969.00"
    dup = batch(
        demo, [item(7, a, b, "1.00"), item(7, a, b, "1.00"), item(7, b, a, "1.00")]
    ).get_json()
    assert [(r["status"], r["code"]) for r in dup["results"]] == [
        ("posted", None),
        ("exists", None),
        ("refused", "exists_with_different_from_wallet"),
    ]
    assert dup["results"][1]["transfer_id"] == dup["results"][0]["transfer_id"]
    # Ids belong to the API key that used them.
    demo.keys["ICBC2"] = demo.key("operator", operator_code="ICBC")
    other = batch(demo, [item(0, a, b, "10.00")], key="ICBC2").get_json()
    assert other["results"][0]["status"] == "posted"


def test_batch_validation_and_size(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    r = batch(
        demo,
        [
            item(0, a, b, "1.00"),
            item(1, a, b, "1.001"),
            {"from_wallet": a, "to_wallet": b, "amount": "1.00"},
        ],
    )
    errors = r.get_json()["errors"]
    assert r.status_code == 422 and "transfers.1.amount" in errors and "transfers.2.id" in errors
    assert batch(demo, []).status_code == 422
    big = [item(i, a, b, "0.01") for i in range(8191)]
    r = batch(demo, big)
    assert (
        r.status_code == 400
        and r.get_json()["code"] == "batch_too_large"
        and r.get_json()["max"] == 8190
    )
    assert demo.balance(a) == "1000.00"


def test_a_full_batch_of_8190(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    out = batch(
        demo, [item(i, a if i % 2 else b, b if i % 2 else a, "0.01") for i in range(8190)]
    ).get_json()
    assert out["posted"] == 8190
    assert demo.balance(a) == "1000.00" and demo.balance(b) == "500.00"


def test_a_reused_client_id_names_the_field_that_differs(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]
    first = batch(demo, [item(0, a, b, "5.00", reference="rent")]).get_json()
    again = batch(
        demo,
        [
            item(0, a, b, "5.00", reference="rent"),  # the same, its reference too
            item(0, a, c, "5.00", reference="rent"),
            item(0, a, b, "5.00", reference="food"),
            item(0, a, b, "5.00"),
        ],
    ).get_json()
    assert [(r["status"], r["code"]) for r in again["results"]] == [
        ("exists", None),
        ("refused", "exists_with_different_to_wallet"),
        ("refused", "exists_with_different_reference"),
        ("refused", "exists_with_different_reference"),
    ]
    assert again["results"][0]["transfer_id"] == first["results"][0]["transfer_id"]
    assert again["results"][1]["detail"] == "transfer 't-0' exists with a different to_wallet"
    assert demo.balance(a) == "995.00"
